"""What an OCI distribution request touches and which permission it needs. Pure, no I/O.

Every ``/v2/...`` path names one repository (or the catalog); the HTTP method and the
path's kind say whether reading (``pull``) or writing (``push``) is asked. The gateway
decides on that, never on the client's own description of itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from ..core.names import TAG_PATTERN, is_repository_path

PULL = "pull"
PUSH = "push"
#: The digests the registry can verify: sha256, sha384 or sha512, lower-case hex of the exact length.
#: Anything looser is a differential: registry 2.8 takes ``1.0.0:x`` or ``sha512:abc`` as a *tag*
#: (and answers 500 with its storage path), while a lax digest grammar skipped the tag checks.
DIGEST_PATTERN = re.compile(r"sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128}")
#: the registry's upload ids (UUIDs); never only dots, which Go's router would clean away as a path segment
_UPLOAD_ID = re.compile(r"(?:[A-Za-z0-9_=-][A-Za-z0-9_.=-]{0,127})?")
# /v2/<name>/<kind>/<reference>. As in distribution's own router, the name is greedy: it runs up to
# the *last* kind marker, since references never hold a "/" (so /v2/a/blobs/x/manifests/t is
# repository a/blobs/x -- exactly what the registry will serve, which is what must be authorized).
_ROUTE = re.compile(
    r"^/v2/(?P<repository>.+)/(?:(?P<upload>blobs/uploads)(?:/(?P<upload_id>[^/]*))?"
    r"|(?P<kind>manifests|blobs|tags|referrers)/(?P<rest>[^/]+))$"
)


class Kind(str, Enum):
    BASE = "base"  # /v2/
    CATALOG = "catalog"  # /v2/_catalog
    MANIFEST = "manifest"
    BLOB = "blob"
    UPLOAD = "upload"
    TAGS = "tags"
    REFERRERS = "referrers"


@dataclass(frozen=True)
class Target:
    """One parsed distribution API request."""

    kind: Kind
    repository: str = ""
    #: tag or digest for manifests, digest for blobs, upload id for uploads
    reference: str = ""

    @property
    def is_tag(self) -> bool:
        return self.kind is Kind.MANIFEST and not DIGEST_PATTERN.fullmatch(self.reference)


def parse_target(path: str) -> Target | None:
    """Parse a ``/v2/...`` path; None when it is not a distribution API path we know."""
    if path in ("/v2", "/v2/"):
        return Target(Kind.BASE)
    if path == "/v2/_catalog":
        return Target(Kind.CATALOG)
    match = _ROUTE.match(path)
    if not match:
        return None
    repository = match["repository"]
    if not is_repository_path(repository):
        return None
    if match["upload"]:
        upload_id = match["upload_id"] or ""
        return Target(Kind.UPLOAD, repository, upload_id) if _UPLOAD_ID.fullmatch(upload_id) else None
    kind, rest = match["kind"], match["rest"]
    # a reference is a digest or (for manifests) a tag, nothing else: no '#', ';' or other bytes
    # that an HTTP library or the registry could read differently from how the gateway decided
    if kind in ("manifests", "blobs", "referrers") and not (
        DIGEST_PATTERN.fullmatch(rest) or (kind == "manifests" and TAG_PATTERN.fullmatch(rest))
    ):
        return None
    if kind == "manifests":
        return Target(Kind.MANIFEST, repository, rest)
    if kind == "blobs":
        return Target(Kind.BLOB, repository, rest)
    if kind == "tags" and rest == "list":
        return Target(Kind.TAGS, repository)
    if kind == "referrers":
        return Target(Kind.REFERRERS, repository, rest)
    return None


def required_action(target: Target, method: str) -> str | None:
    """``pull`` or ``push`` for what the request does; None for requests the hub never allows.

    Deleting manifests or blobs is refused outright: a delete by digest would drop every tag
    pointing there, protected ones included. Cancelling one's own upload is a push.
    """
    method = method.upper()
    if target.kind is Kind.UPLOAD:  # even reading an upload's status is part of pushing
        return PUSH if method in ("GET", "HEAD", "POST", "PATCH", "PUT", "DELETE") else None
    if method in ("GET", "HEAD"):
        return PULL
    if target.kind is Kind.MANIFEST and method == "PUT":
        return PUSH
    return None


@dataclass(frozen=True)
class Scope:
    """A token scope, ``repository:NAME:pull,push``."""

    repository: str
    actions: frozenset[str]


def parse_scopes(values: list[str]) -> list[Scope]:
    """The repository scopes of a token request; other resource types and invalid names are ignored."""
    scopes = []
    for value in values:
        for item in value.split(" "):
            kind, _, rest = item.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind == "repository" and is_repository_path(name):
                scopes.append(Scope(name, frozenset(a for a in actions.split(",") if a in (PULL, PUSH, "*"))))
    return scopes
