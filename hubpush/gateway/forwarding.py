"""What the gateway sends to the registry: a request rebuilt from what it parsed. Pure, no I/O.

The registry behind the gateway trusts whatever reaches it, so any part of a request that
the gateway and the registry read differently is a way around the gateway's checks. The
finding that shaped this module: registry 2.8 reads ``mount`` and ``from`` from a form body
as well as from the query (Go's ``FormValue``), and Go lower-cases ``Content-Type`` with
Unicode rules, so ``applİcation/x-www-form-urlencoded`` was a form to the registry and not
to the gateway, and a private blob could be mounted into a public repository.

So nothing is passed through. For each kind of request this module knows exactly which
query parameters, headers and body the registry may see; it validates each against its
grammar and builds the upstream request from the validated values alone:

* the path is rebuilt from the parsed repository and reference;
* the query holds only the parameters the route uses, each at most once, re-encoded;
* the headers are an allow-list per route; ``Content-Type`` of upload bodies is always set
  by the gateway to ``application/octet-stream`` (so no body is ever read as a form), that of
  manifests is one of the manifest media types;
* a body is forwarded only where the route takes one.

Everything else -- unknown or repeated parameters, repeated or non-ASCII headers, a
``Content-Encoding``, a body where none belongs -- is refused with a :class:`NotUnderstood`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote_plus

from ..core.names import TAG_PATTERN, is_metadata_path, is_repository_path
from .access import DIGEST_PATTERN, Kind, Target

OCTET_STREAM = "application/octet-stream"
MANIFEST_MEDIA_TYPES = frozenset(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)
#: query parameters clients send that the registry ignores: dropped, never forwarded
#: (``ns`` is containerd's hint of the upstream host when the hub is configured as a mirror)
_IGNORED_PARAMETERS = frozenset(["ns"])
_MAX_QUERY_BYTES = 8192
_STATE = re.compile(r"[A-Za-z0-9_=-]{1,4096}")  # the registry's signed upload state: base64url
_COUNT = re.compile(r"[0-9]{1,5}")
_CONTENT_RANGE = re.compile(r"[0-9]{1,19}-[0-9]{1,19}")
_RANGE = re.compile(r"bytes=[0-9]{0,19}-[0-9]{0,19}")
_PRINTABLE = re.compile(r"[\x20-\x7e]{0,8192}")
_HEADER_GRAMMAR = {"range": _RANGE, "content-range": _CONTENT_RANGE, "content-length": re.compile(r"[0-9]{1,19}")}
#: headers that must appear at most once: a second copy is one that some reader would take
_SINGLE = frozenset(
    [
        "authorization", "host", "content-type", "content-length", "transfer-encoding", "content-encoding",
        "content-range", "range", "if-none-match",
    ]
)  # fmt: skip


class NotUnderstood(Exception):
    """A request the gateway refuses because it does not fully understand it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Incoming:
    """The parts of a client's request this module reads, as raw as the server gives them."""

    method: str
    target: Target
    #: the query string exactly as sent, without the ``?``
    raw_query: str
    #: every header line in order, names and values as bytes
    raw_headers: tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True)
class Upstream:
    """The request the registry is sent: every part of it validated or set by the gateway."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    #: forward the client's body (its length, if known, is in ``headers``)
    has_body: bool

    @property
    def path_and_query(self) -> str:
        if not self.query:
            return self.path
        return self.path + "?" + "&".join(f"{key}={quote(value, safe='')}" for key, value in self.query)


@dataclass(frozen=True)
class _Route:
    """What one kind of request may carry."""

    parameters: frozenset[str] = frozenset()
    headers: frozenset[str] = frozenset()
    #: "none", "optional" (uploads: always octet-stream) or "manifest"
    body: str = "none"


def _route(target: Target, method: str) -> _Route:
    kind, upload_start = target.kind, target.kind is Kind.UPLOAD and not target.reference
    if kind is Kind.MANIFEST:
        if method == "PUT":
            return _Route(headers=frozenset(["content-type"]), body="manifest")
        return _Route(headers=frozenset(["accept", "if-none-match"]))
    if kind is Kind.BLOB:
        return _Route(headers=frozenset(["range", "if-none-match"]))
    if kind is Kind.TAGS:
        return _Route(parameters=frozenset(["n", "last"]))
    if upload_start and method == "POST":
        return _Route(parameters=frozenset(["mount", "from", "digest"]), body="optional")
    if kind is Kind.UPLOAD and not upload_start and method in ("PATCH", "PUT"):
        parameters = ["_state", "digest"] if method == "PUT" else ["_state"]
        return _Route(parameters=frozenset(parameters), headers=frozenset(["content-range"]), body="optional")
    if kind is Kind.UPLOAD and not upload_start and method in ("GET", "HEAD", "DELETE"):
        return _Route(parameters=frozenset(["_state"]))
    if kind is Kind.REFERRERS:
        raise NotUnderstood(404, "UNSUPPORTED", "The registry behind this hub has no referrers API.")
    raise NotUnderstood(405, "UNSUPPORTED", f"{method} is not a request the hub forwards for this path.")


def plan(incoming: Incoming) -> Upstream:
    """The upstream request for ``incoming``, or :class:`NotUnderstood` naming what is wrong."""
    method = incoming.method.upper()
    route = _route(incoming.target, method)
    headers = _headers(incoming.raw_headers)
    query = _query(incoming.raw_query, route.parameters)
    _check_parameters(incoming.target, method, query)
    has_body = _has_body(headers)
    forwarded = [(name.title(), value) for name, value in headers if name in route.headers and name != "accept"]
    if "accept" in route.headers:
        forwarded = [("Accept", media) for media in _manifest_accept(headers)] + forwarded
    content_type = _single(headers, "content-type")
    if route.body == "none":
        if has_body:
            raise NotUnderstood(400, "UNSUPPORTED", f"A {method} request to this path takes no body.")
    elif route.body == "manifest":
        if content_type not in MANIFEST_MEDIA_TYPES:
            raise NotUnderstood(
                415, "MANIFEST_INVALID", f"Content-Type {content_type!r} is not a manifest media type the hub accepts."
            )
    else:
        if content_type is not None and content_type.lower() != OCTET_STREAM:
            # the registry would parse a form body for upload parameters the gateway never checked
            raise NotUnderstood(415, "UNSUPPORTED", f"Blob uploads are sent as {OCTET_STREAM}, not {content_type!r}.")
        if has_body and method == "POST" and not any(key == "digest" for key, _ in query):
            raise NotUnderstood(400, "UNSUPPORTED", "An upload start takes no body unless it is a monolithic upload (digest=...).")
        if has_body:
            forwarded.append(("Content-Type", OCTET_STREAM))
    length = _single(headers, "content-length")
    if has_body and length is not None:
        forwarded.append(("Content-Length", length))
    elif not has_body and method in ("POST", "PUT", "PATCH"):
        forwarded.append(("Content-Length", "0"))
    return Upstream(method, _path(incoming.target), query, tuple(forwarded), has_body)


def _path(target: Target) -> str:
    """The canonical path for a parsed target: the registry sees exactly what was authorized."""
    base = f"/v2/{target.repository}"
    if target.kind is Kind.UPLOAD:
        return f"{base}/blobs/uploads/{target.reference}"
    segment = {Kind.MANIFEST: "manifests", Kind.BLOB: "blobs", Kind.REFERRERS: "referrers"}.get(target.kind)
    if segment is None:
        return f"{base}/tags/list"
    return f"{base}/{segment}/{target.reference}"


def _manifest_accept(headers: list[tuple[str, str]]) -> list[str]:
    """The manifest media types the client accepts; all of them when it names none.

    Registry 2.8 answers an ``Accept`` without any of them by converting the manifest to
    schema 1, and stores a blob in the repository to do so: a read that writes.
    """
    asked = [part.split(";")[0].strip().lower() for name, value in headers if name == "accept" for part in value.split(",")]
    kept = [media for media in dict.fromkeys(asked) if media in MANIFEST_MEDIA_TYPES]
    return kept or sorted(MANIFEST_MEDIA_TYPES)


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """Lower-cased names and ASCII values; a non-ASCII value or a repeated single header is refused."""
    headers: list[tuple[str, str]] = []
    seen: set[str] = set()
    for raw_name, raw_value in raw:
        try:
            name, value = raw_name.decode("ascii").lower(), raw_value.decode("ascii")
        except UnicodeDecodeError:
            raise NotUnderstood(400, "UNSUPPORTED", "Header names and values must be ASCII.") from None
        if not _PRINTABLE.fullmatch(value):
            raise NotUnderstood(400, "UNSUPPORTED", f"The {name} header holds characters or a length the hub does not accept.")
        if name in _SINGLE and name in seen:
            raise NotUnderstood(400, "UNSUPPORTED", f"The {name} header appears more than once; send it once.")
        seen.add(name)
        value = value.strip(" ")
        grammar = _HEADER_GRAMMAR.get(name)
        if grammar is not None and not grammar.fullmatch(value):
            raise NotUnderstood(400, "UNSUPPORTED", f"The {name} header {value[:60]!r} is not in a form the hub accepts.")
        headers.append((name, value))
    encoding = _single(headers, "content-encoding")
    if encoding is not None and encoding.lower() != "identity":
        raise NotUnderstood(415, "UNSUPPORTED", "Request bodies are sent unencoded (no Content-Encoding).")
    return headers


def _single(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key == name), None)


def _has_body(headers: list[tuple[str, str]]) -> bool:
    encoding = _single(headers, "transfer-encoding")
    length = _single(headers, "content-length")
    if encoding is not None:
        if length is not None:  # the HTTP parser refuses this too; never rely on one reader alone
            raise NotUnderstood(400, "UNSUPPORTED", "Send either Content-Length or Transfer-Encoding, not both.")
        if encoding.lower() != "chunked":
            raise NotUnderstood(400, "UNSUPPORTED", f"Transfer-Encoding {encoding!r} is not supported; use chunked.")
        return True
    if length is None:
        return False
    return int(length) > 0


def _query(raw: str, allowed: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """Parse the query strictly: ``key=value`` pairs split on ``&`` only, each allowed key at most once."""
    if not raw:
        return ()
    if len(raw) > _MAX_QUERY_BYTES:
        raise NotUnderstood(414, "UNSUPPORTED", "The query string is too long.")
    pairs: list[tuple[str, str]] = []
    for item in raw.split("&"):
        key, equals, value = item.partition("=")
        if not equals or ";" in item or not _well_escaped(item):
            raise NotUnderstood(400, "UNSUPPORTED", f"The query parameter {key[:40]!r} is not a plain key=value pair.")
        key, value = unquote_plus(key), unquote_plus(value)
        if key in _IGNORED_PARAMETERS:
            continue
        if key not in allowed:
            raise NotUnderstood(400, "UNSUPPORTED", f"The query parameter {key[:40]!r} is not one the hub forwards here.")
        if any(key == seen for seen, _ in pairs):
            raise NotUnderstood(400, "UNSUPPORTED", f"The query parameter {key!r} appears more than once; send it once.")
        pairs.append((key, value))
    return tuple(pairs)


def _well_escaped(text: str) -> bool:
    """Every ``%`` starts a two-digit hex escape (Go drops a pair with a bad one, Python keeps it)."""
    return re.fullmatch(r"(?:[^%]|%[0-9A-Fa-f]{2})*", text) is not None


_GRAMMAR = {
    "digest": DIGEST_PATTERN,
    "mount": DIGEST_PATTERN,
    "_state": _STATE,
    "n": _COUNT,
    "last": TAG_PATTERN,
}


def _check_parameters(target: Target, method: str, query: tuple[tuple[str, str], ...]) -> None:
    for key, value in query:
        if key == "from":
            if not is_repository_path(value) or is_metadata_path(value):
                raise NotUnderstood(400, "NAME_INVALID", "from= must name an executor's repository.")
        elif not _GRAMMAR[key].fullmatch(value):
            raise NotUnderstood(400, "DIGEST_INVALID" if key in ("digest", "mount") else "UNSUPPORTED", f"{key}= has an invalid value.")
    keys = {key for key, _ in query}
    if ("mount" in keys) != ("from" in keys):
        raise NotUnderstood(400, "UNSUPPORTED", "A cross-repository mount names both mount= and from=.")
    if target.kind is Kind.UPLOAD and method == "PUT" and "digest" not in keys:
        raise NotUnderstood(400, "DIGEST_INVALID", "Completing an upload needs digest= in the query.")
