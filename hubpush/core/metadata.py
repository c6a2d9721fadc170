"""The executor's metadata document, as stored in the registry next to its image. Pure: no I/O.

One JSON document per executor. It is the single source of truth for who owns a
NAME (the secret hash), who may pull it (visibility), which tags may never move
(protected tags) and what was pushed when (tags and history).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any

from ..errors import MetadataCorruptError

if TYPE_CHECKING:  # policy imports this module; the functions below only read a decision's fields
    from .policy import PushDecision

SCHEMA_VERSION = 1
#: bounds on what the document keeps, which every pull decision reads: the newest history
#: entries, and the number of distinct tags (a push to an existing tag is always possible)
MAX_HISTORY = 1000
MAX_TAGS_PER_EXECUTOR = 1000


def corrupt_metadata(where: str, cause: Exception) -> MetadataCorruptError:
    """The one refusal for a metadata artifact hubpush cannot read, whichever part is broken."""
    return MetadataCorruptError(
        f"The hubpush metadata at {where} is not valid ({cause.__class__.__name__}: {cause}); "
        "repair or delete it with the registry's API before pushing again."
    )


class Visibility(str, Enum):
    """Who may pull an executor: anyone, or holders of its secret."""
    PUBLIC = "public"
    PRIVATE = "private"


@dataclass(frozen=True)
class TagRecord:
    """Where one tag points and when it was pushed there."""

    digest: str
    pushed_at: str


@dataclass(frozen=True)
class HistoryEntry:
    """One tag of one push, in the order pushes happened."""
    tag: str
    digest: str
    pushed_at: str


@dataclass(frozen=True)
class ReadmeRecord:
    """The README recorded at push time: a blob in the metadata repository (a layer of the artifact)."""

    digest: str
    size: int
    #: the folder's README.md was longer than the hub keeps, and this is its beginning
    truncated: bool = False


@dataclass
class ExecutorMetadata:
    """The metadata document of one executor (its JSON form is described in docs/architecture.md)."""
    name: str
    repository: str
    visibility: Visibility
    secret_hash: str
    created_at: str
    updated_at: str
    description: str = ""
    protected_tags: list[str] = field(default_factory=list)
    tags: dict[str, TagRecord] = field(default_factory=dict)
    history: list[HistoryEntry] = field(default_factory=list)
    schema: int = SCHEMA_VERSION
    #: manifest.yml's keywords, as the last push recorded them
    keywords: list[str] = field(default_factory=list)
    readme: ReadmeRecord | None = None

    def to_json(self) -> bytes:
        data = asdict(self)
        data["visibility"] = self.visibility.value
        return json.dumps(data, indent=2, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes, *, where: str) -> ExecutorMetadata:
        try:
            data: dict[str, Any] = json.loads(raw)
            return cls(
                name=data["name"],
                repository=data["repository"],
                visibility=Visibility(data["visibility"]),
                secret_hash=data["secret_hash"],
                created_at=data["created_at"],
                updated_at=data["updated_at"],
                description=data.get("description", ""),
                protected_tags=list(data.get("protected_tags", [])),
                tags={t: TagRecord(**rec) for t, rec in data.get("tags", {}).items()},
                history=[HistoryEntry(**h) for h in data.get("history", [])],
                schema=int(data.get("schema", SCHEMA_VERSION)),
                keywords=[str(k) for k in data.get("keywords") or []],
                readme=ReadmeRecord(**data["readme"]) if data.get("readme") else None,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise corrupt_metadata(where, exc) from None

    def absorb(self, latest: ExecutorMetadata) -> None:
        """Keep what a concurrent push of the same executor recorded since we read it:
        its tags and history, and the union of protected tags (protection is never lost)."""
        self.tags = dict(latest.tags)
        self.history = list(latest.history)
        self.protected_tags = list(dict.fromkeys([*latest.protected_tags, *self.protected_tags]))

    def record_push(self, tags: list[str], digest: str, when: str) -> None:
        """Point ``tags`` at ``digest`` and append them to the history."""
        for tag in tags:
            self.tags[tag] = TagRecord(digest=digest, pushed_at=when)
            self.history.append(HistoryEntry(tag=tag, digest=digest, pushed_at=when))
        del self.history[:-MAX_HISTORY]
        self.updated_at = when


def utc_now() -> str:
    """Timestamps are RFC 3339 UTC strings, as OCI annotations use."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Presentation:
    """What a push says about its executor for people browsing the hub: manifest.yml's keywords and the README."""

    keywords: list[str] = field(default_factory=list)
    readme: ReadmeRecord | None = None


def new_metadata(
    name: str, repository: str, decision: PushDecision, secret_hash: str, description: str, now: str
) -> ExecutorMetadata:
    """The metadata a first publish records as its intent: the owner (``secret_hash``) and what
    ``decision`` allows. The one place new metadata is made, for the CLI and the gateway alike."""
    return ExecutorMetadata(
        name=name,
        repository=repository,
        visibility=decision.visibility,
        secret_hash=secret_hash,
        created_at=now,
        updated_at=now,
        description=description,
        protected_tags=decision.protected_tags,
    )


def updated_metadata(
    current: ExecutorMetadata, decision: PushDecision, description: str, now: str | None = None
) -> ExecutorMetadata:
    """Apply an update's intent to ``current`` (in place, and returned): the decided visibility and
    protected tags, and the folder's description unless it has none.

    ``now`` stamps ``updated_at``. The CLI against a bare registry passes None: its final write
    stamps the push time anyway, and an intent left behind by a failed push keeps the old time.
    """
    current.visibility = decision.visibility
    current.protected_tags = decision.protected_tags
    current.description = description or current.description
    if now is not None:
        current.updated_at = now
    return current


def presented(metadata: ExecutorMetadata, presentation: Presentation) -> ExecutorMetadata:
    """Record what this push says about the executor (in place, and returned): each push replaces it."""
    metadata.keywords = list(presentation.keywords)
    metadata.readme = presentation.readme
    return metadata
