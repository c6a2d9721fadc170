"""The hub API: the contract between the CLI and the hub gateway, defined once for both.

Paths, the service name a gateway announces, and each message as a strict dataclass with
``to_json`` (the JSON object sent) and ``from_json`` (the decoded JSON value received).
``from_json`` refuses a message that breaks the contract with
:class:`~hubpush.errors.MalformedMessageError` instead of guessing: a ``"tags"`` string is
not a list of tags, and ``"is_update": "no"`` is not a boolean. Pure: no I/O.

The wire format is the one the gateway has always parsed:

- ``GET  INFO_PATH`` -> :class:`HubInfo`
- ``POST executors/REPO/push`` with :class:`PushCheck` (Basic ``NAME:SECRET``, optional
  :data:`PUBLISHER_TOKEN_HEADER`) -> :class:`PushAnswer`
- ``POST executors/REPO/abort`` with the answer's :class:`RestorePoint` -> ``{"restored": bool}``
- ``GET  executors/REPO`` -> the metadata document without ``secret_hash``, plus ``registry_tags``
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .core.catalog import last_push, tag_views
from .core.metadata import ExecutorMetadata, Visibility
from .errors import MalformedMessageError

#: what a gateway's info endpoint says it is; how the CLI tells a hub from a bare registry
SERVICE = "hubpush-gateway"
API_ROOT = "/hubpush/v1"
INFO_PATH = f"{API_ROOT}/info"
TOKEN_PATH = f"{API_ROOT}/token"
EXECUTORS_PATH = f"{API_ROOT}/executors"
PUBLISHER_TOKEN_HEADER = "X-Hubpush-Publisher-Token"
#: where a hub serves the Jina Hub API: Jina's client is pointed at it with JINA_HUBBLE_REGISTRY=http://HUB/jina
JINA_PREFIX = "/jina"
#: ``GET``: the executors a caller may see, ``?sort=recent|name&q=WORDS&page=N`` (:class:`ListingPage`)
LISTING_PATH = EXECUTORS_PATH
#: ``POST``: an access token that pulls several (private) executors, for ``docker login`` (:class:`AccessTokenRequest`)
ACCESS_TOKENS_PATH = f"{API_ROOT}/access-tokens"
#: what an access token's text starts with; it is given to docker as the password (any user name)
ACCESS_TOKEN_PREFIX = "hpat."
MAX_TOKEN_EXECUTORS = 64
MAX_TOKEN_HOURS = 24 * 30
#: the most of a README the hub records, and the most keywords (each at most MAX_KEYWORD_LENGTH)
MAX_README_BYTES = 64 << 10
MAX_KEYWORDS = 32
MAX_KEYWORD_LENGTH = 64
#: the longest description (``metas.description``) the hub records; the CLI refuses longer before any network
MAX_DESCRIPTION_LENGTH = 4096
#: bounds on the fields of a push request, so no refusal ever echoes an unbounded value: NAME_PATTERN's
#: and TAG_PATTERN's lengths (a longer one is never valid), and the restore point's digests and signature
MAX_NAME_CHARS = 64
MAX_TAG_CHARS = 128
MAX_SIGNATURE_CHARS = 128
#: the registry's manifest digests, the only thing a restore point names (the gateway's request parser
#: holds the same grammar; hubapi, shared with the CLI, imports nothing of the gateway)
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128}")


def executor_path(repository: str) -> str:
    """``GET``: an executor as the hub shows it. ``repository`` is the full path, namespace included."""
    return f"{EXECUTORS_PATH}/{repository}"


def portal_path(repository: str) -> str:
    """The executor's page on the hub's portal (the portal itself is at ``/``)."""
    return f"/executors/{repository}"


def push_path(repository: str) -> str:
    """``POST``: check a push and, unless a dry run, record its intent."""
    return f"{executor_path(repository)}/push"


def abort_path(repository: str) -> str:
    """``POST``: undo a recorded intent whose push failed."""
    return f"{executor_path(repository)}/abort"


# --- strict readers ------------------------------------------------------------------------
_REQUIRED: Any = object()


def _object(data: object, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise MalformedMessageError(f"The {what} is malformed: it must be a JSON object.")
    return data


def _field(
    data: dict[str, Any], key: str, kinds: type | tuple[type, ...], what: str, *, default: Any = _REQUIRED, most: int | None = None
) -> Any:
    """``data[key]`` if it is of ``kinds``; ``default`` when it is absent or null and one is given.
    A boolean never passes for a number (Python's bool is an int), text must be valid UTF-8 and,
    with ``most``, at most that many characters."""
    value = data.get(key)
    if value is None and default is not _REQUIRED:
        return default
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _tuple(kinds)):
        raise MalformedMessageError(f"The {what} is malformed: {key!r} must be {_describe(kinds)}.")
    if isinstance(value, str):
        _check_text(value, key, what, most)
    return value


def _tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _check_text(value: str, key: str, what: str, most: int | None = None) -> None:
    """Text that is valid Unicode (JSON's "\\ud800" is not: it cannot be written as UTF-8), of at most ``most`` characters."""
    if most is not None and len(value) > most:
        raise MalformedMessageError(f"The {what} is malformed: {key!r} must be at most {most} characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedMessageError(f"The {what} is malformed: {key!r} is not valid UTF-8 text.") from None


def _strings(data: dict[str, Any], key: str, what: str, *, most: int | None = None) -> list[str]:
    """A list of strings (each of at most ``most`` characters); absent or null is the empty list."""
    value = _field(data, key, list, what, default=[])
    if not all(isinstance(item, str) for item in value):
        raise MalformedMessageError(f"The {what} is malformed: {key!r} must be a list of strings.")
    for item in value:
        _check_text(item, key, what, most)
    return list(value)


def _digest(data: dict[str, Any], key: str, what: str, *, optional: bool) -> str | None:
    """A manifest digest (None, when ``optional``, for null)."""
    value = _field(data, key, (str, type(None)) if optional else str, what)
    if value is not None and not _DIGEST.fullmatch(value):
        raise MalformedMessageError(f"The {what} is malformed: {key!r} must be a digest such as 'sha256:' and 64 hex digits.")
    return value


def _visibility(data: dict[str, Any], key: str, what: str, *, optional: bool) -> Visibility | None:
    value = _field(data, key, str, what, default=None if optional else ...)
    if value is None:
        return None
    try:
        return Visibility(value)
    except ValueError:
        raise MalformedMessageError(f"The {what} is malformed: {key!r} must be 'public' or 'private'.") from None


def decode_body(raw: bytes) -> dict[str, Any]:
    """A hub API request body: the JSON object in ``raw``, or :class:`~hubpush.errors.MalformedMessageError`
    saying why there is none, without echoing the body (what a client sent may be anything)."""
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise MalformedMessageError("The request body is not UTF-8 text; send a JSON object.") from None
    except RecursionError:  # "[[[[..." nested past the parser's depth
        raise MalformedMessageError("The request body nests deeper than a hub API message ever does; send a flat JSON object.") from None
    except json.JSONDecodeError as exc:
        raise MalformedMessageError(f"The request body is not valid JSON ({exc.msg} at character {exc.pos}); send a JSON object.") from None
    except ValueError as exc:  # NaN, Infinity, or an integer of more digits than Python converts (4300)
        reason = str(exc) if isinstance(exc, _NotJson) else "a number is too long to read"
        raise MalformedMessageError(f"The request body is not valid JSON ({reason}); send a JSON object.") from None
    if not isinstance(data, dict):
        raise MalformedMessageError("The request body must be a JSON object.")
    return data


class _NotJson(ValueError):
    pass


def _no_constant(name: str) -> None:
    """NaN and Infinity are no JSON, though Python's parser takes them unless told not to."""
    raise _NotJson(f"{name} is not a JSON value")


def _describe(kind: type | tuple[type, ...]) -> str:
    names = {bool: "a boolean", str: "a string", list: "a list", dict: "an object", type(None): "null"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


# --- messages ------------------------------------------------------------------------------
@dataclass(frozen=True)
class HubInfo:
    """What ``GET INFO_PATH`` answers."""

    service: str
    version: str
    publisher_token_required: bool

    def to_json(self) -> dict[str, Any]:
        return {"service": self.service, "version": self.version, "publisher_token_required": self.publisher_token_required}

    @classmethod
    def from_json(cls, data: object) -> HubInfo | None:
        """The info of a hub gateway, or None when ``data`` is not one's (a bare registry, another service)."""
        if not isinstance(data, dict) or data.get("service") != SERVICE:
            return None
        return cls(SERVICE, str(data.get("version", "")), bool(data.get("publisher_token_required")))


@dataclass(frozen=True)
class PushCheck:
    """The body of ``POST push_path(REPO)``: what a push asks for. The secret travels as Basic auth."""

    name: str
    is_update: bool
    tags: list[str]
    protected_tags: list[str]
    visibility: Visibility | None
    description: str
    dry_run: bool
    #: manifest.yml's keywords and the folder's README.md (at most MAX_README_BYTES, cut and flagged beyond)
    keywords: list[str] = field(default_factory=list)
    readme: str = ""
    readme_truncated: bool = False

    WHAT = "push request"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "is_update": self.is_update,
            "tags": self.tags,
            "protected_tags": self.protected_tags,
            "visibility": self.visibility.value if self.visibility else None,
            "description": self.description,
            "dry_run": self.dry_run,
            # added in 0.2 for the portal; sent only when there is something to say, so a push
            # without them is the very body older gateways parse
            **({"keywords": self.keywords} if self.keywords else {}),
            **({"readme": self.readme, "readme_truncated": self.readme_truncated} if self.readme else {}),
        }

    @classmethod
    def from_json(cls, data: object) -> PushCheck:
        body = _object(data, cls.WHAT)
        return cls(
            name=_field(body, "name", str, cls.WHAT, most=MAX_NAME_CHARS),
            is_update=_field(body, "is_update", bool, cls.WHAT),
            tags=_strings(body, "tags", cls.WHAT, most=MAX_TAG_CHARS),
            protected_tags=_strings(body, "protected_tags", cls.WHAT, most=MAX_TAG_CHARS),
            visibility=_visibility(body, "visibility", cls.WHAT, optional=True),
            description=_field(body, "description", str, cls.WHAT, default=""),
            dry_run=_field(body, "dry_run", bool, cls.WHAT, default=False),
            keywords=_strings(body, "keywords", cls.WHAT),
            readme=_field(body, "readme", str, cls.WHAT, default=""),
            readme_truncated=_field(body, "readme_truncated", bool, cls.WHAT, default=False),
        )


@dataclass(frozen=True)
class RestorePoint:
    """What an abort may put back: the metadata digests before and after the intent, signed by the hub.

    The client hands it back exactly as it got it; ``previous`` is None after a first publish."""

    previous: str | None
    intent: str
    signature: str

    WHAT = "restore point"

    def to_json(self) -> dict[str, Any]:
        return {"previous": self.previous, "intent": self.intent, "signature": self.signature}

    @classmethod
    def from_json(cls, data: object) -> RestorePoint:
        body = _object(data, cls.WHAT)
        return cls(
            previous=_digest(body, "previous", cls.WHAT, optional=True),
            intent=_digest(body, "intent", cls.WHAT, optional=False) or "",
            signature=_field(body, "signature", str, cls.WHAT, most=MAX_SIGNATURE_CHARS),
        )


@dataclass(frozen=True)
class PushAnswer:
    """The hub's answer to a :class:`PushCheck`: the decision, and for a recorded intent its restore point."""

    first_publish: bool
    #: the NAME recorded at the first publish (may differ from the requested one in case)
    name: str
    tags: list[str]
    protected_tags: list[str]
    visibility: Visibility
    #: None for a dry run
    restore: RestorePoint | None

    WHAT = "hub's answer to a push"

    def to_json(self) -> dict[str, Any]:
        return {
            "first_publish": self.first_publish,
            "name": self.name,
            "tags": self.tags,
            "protected_tags": self.protected_tags,
            "visibility": self.visibility.value,
            "restore": self.restore.to_json() if self.restore else None,
        }

    @classmethod
    def from_json(cls, data: object) -> PushAnswer:
        body = _object(data, cls.WHAT)
        restore = body.get("restore")
        visibility = _visibility(body, "visibility", cls.WHAT, optional=False)
        assert visibility is not None  # not optional: absent raises
        return cls(
            first_publish=_field(body, "first_publish", bool, cls.WHAT),
            name=_field(body, "name", str, cls.WHAT),
            tags=_strings(body, "tags", cls.WHAT),
            protected_tags=_strings(body, "protected_tags", cls.WHAT),
            visibility=visibility,
            restore=None if restore is None else RestorePoint.from_json(restore),
        )


@dataclass(frozen=True)
class ExecutorListing:
    """What ``GET executor_path(REPO)`` answers: the metadata document without its secret hash
    (here ``secret_hash`` is always ``""``), and the tags the registry lists right now."""

    metadata: ExecutorMetadata
    registry_tags: list[str]
    #: the README's first paragraph, as plain text, and the executor's page on the hub's portal
    readme_summary: str = ""
    portal_url: str = ""

    def to_json(self) -> dict[str, Any]:
        view: dict[str, Any] = json.loads(self.metadata.to_json())
        del view["secret_hash"]  # the hub never hands it out
        view["registry_tags"] = sorted(self.registry_tags)
        view["readme_summary"] = self.readme_summary
        view["portal_url"] = self.portal_url
        return view

    @classmethod
    def from_json(cls, data: object, *, where: str) -> ExecutorListing:
        """Raises :class:`~hubpush.errors.MetadataCorruptError` naming ``where``, as for any
        metadata document hubpush cannot read."""
        found = dict(_object(data, "hub's view of an executor"))
        registry_tags = found.pop("registry_tags", None) or []
        summary, portal_url = str(found.pop("readme_summary", "") or ""), str(found.pop("portal_url", "") or "")
        found["secret_hash"] = ""
        metadata = ExecutorMetadata.from_json(json.dumps(found).encode("utf-8"), where=where)
        return cls(metadata=metadata, registry_tags=sorted(registry_tags), readme_summary=summary, portal_url=portal_url)


@dataclass(frozen=True)
class ListedExecutor:
    """One executor in a listing: what the portal's cards show."""

    name: str
    repository: str
    image: str
    description: str
    keywords: list[str]
    visibility: Visibility
    created_at: str
    last_push: str
    #: newest first: ``{"tag", "digest", "pushed_at", "protected"}``
    tags: list[dict[str, Any]]
    protected_tags: list[str]
    #: compressed bytes of the newest tag's image; None when unknown
    size: int | None
    portal_url: str

    WHAT = "hub's listing"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "repository": self.repository, "image": self.image, "description": self.description,
            "keywords": self.keywords, "visibility": self.visibility.value, "created_at": self.created_at,
            "last_push": self.last_push, "tags": self.tags, "protected_tags": self.protected_tags, "size": self.size,
            "portal_url": self.portal_url,
        }  # fmt: skip

    @classmethod
    def of(cls, path: str, metadata: ExecutorMetadata, *, image: str, size: int | None, portal_url: str = "") -> ListedExecutor:
        """Executor ``path`` (its repository path, namespace included) listed from its metadata."""
        return cls(
            name=metadata.name, repository=path, image=image, description=metadata.description,
            keywords=list(metadata.keywords), visibility=metadata.visibility, created_at=metadata.created_at,
            last_push=last_push(metadata), tags=[view.to_json() for view in tag_views(metadata)],
            protected_tags=list(metadata.protected_tags), size=size, portal_url=portal_url,
        )  # fmt: skip

    @classmethod
    def from_json(cls, data: object) -> ListedExecutor:
        body = _object(data, cls.WHAT)
        visibility = _visibility(body, "visibility", cls.WHAT, optional=False)
        assert visibility is not None
        tags = _field(body, "tags", list, cls.WHAT, default=[])
        if not all(isinstance(t, dict) and isinstance(t.get("tag"), str) for t in tags):
            raise MalformedMessageError(f"The {cls.WHAT} is malformed: 'tags' must be a list of tag objects.")
        return cls(
            name=_field(body, "name", str, cls.WHAT),
            repository=_field(body, "repository", str, cls.WHAT),
            image=_field(body, "image", str, cls.WHAT),
            description=_field(body, "description", str, cls.WHAT, default=""),
            keywords=_strings(body, "keywords", cls.WHAT),
            visibility=visibility,
            created_at=_field(body, "created_at", str, cls.WHAT, default=""),
            last_push=_field(body, "last_push", str, cls.WHAT, default=""),
            tags=tags,
            protected_tags=_strings(body, "protected_tags", cls.WHAT),
            size=_field(body, "size", (int, type(None)), cls.WHAT, default=None),
            portal_url=_field(body, "portal_url", str, cls.WHAT, default=""),
        )


@dataclass(frozen=True)
class ListingPage:
    """What ``GET LISTING_PATH`` answers: one page of the executors the caller may see."""

    executors: list[ListedExecutor]
    total: int
    page: int
    pages: int
    sort: str
    query: str

    WHAT = "hub's listing"

    def to_json(self) -> dict[str, Any]:
        return {
            "executors": [e.to_json() for e in self.executors], "total": self.total, "page": self.page,
            "pages": self.pages, "sort": self.sort, "q": self.query,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: object) -> ListingPage:
        body = _object(data, cls.WHAT)
        executors = _field(body, "executors", list, cls.WHAT)
        return cls(
            executors=[ListedExecutor.from_json(e) for e in executors],
            total=_field(body, "total", int, cls.WHAT),
            page=_field(body, "page", int, cls.WHAT),
            pages=_field(body, "pages", int, cls.WHAT),
            sort=_field(body, "sort", str, cls.WHAT),
            query=_field(body, "q", str, cls.WHAT, default=""),
        )


@dataclass(frozen=True)
class AccessTokenRequest:
    """``POST ACCESS_TOKENS_PATH``: the executors (NAME and SECRET each) a token may pull, and for how long."""

    executors: list[tuple[str, str]]
    hours: int = 24

    WHAT = "access token request"

    def to_json(self) -> dict[str, Any]:
        return {"executors": [{"name": name, "secret": secret} for name, secret in self.executors], "hours": self.hours}

    @classmethod
    def from_json(cls, data: object) -> AccessTokenRequest:
        body = _object(data, cls.WHAT)
        items = _field(body, "executors", list, cls.WHAT)
        if not 0 < len(items) <= MAX_TOKEN_EXECUTORS:
            raise MalformedMessageError(f"The {cls.WHAT} is malformed: 'executors' must list 1 to {MAX_TOKEN_EXECUTORS} executors.")
        executors = []
        for item in items:
            entry = _object(item, cls.WHAT)
            executors.append((_field(entry, "name", str, cls.WHAT), _field(entry, "secret", str, cls.WHAT)))
        hours = _field(body, "hours", int, cls.WHAT, default=24)
        if not 0 < hours <= MAX_TOKEN_HOURS:
            raise MalformedMessageError(f"The {cls.WHAT} is malformed: 'hours' must be from 1 to {MAX_TOKEN_HOURS}.")
        return cls(executors, hours)


@dataclass(frozen=True)
class AccessTokenAnswer:
    """The token, the repositories it pulls and when it expires (seconds since the epoch)."""

    token: str
    repositories: list[str]
    expires_at: int

    WHAT = "access token answer"

    def to_json(self) -> dict[str, Any]:
        return {"token": self.token, "repositories": self.repositories, "expires_at": self.expires_at}

    @classmethod
    def from_json(cls, data: object) -> AccessTokenAnswer:
        body = _object(data, cls.WHAT)
        return cls(_field(body, "token", str, cls.WHAT), _strings(body, "repositories", cls.WHAT), _field(body, "expires_at", int, cls.WHAT))
