"""The consistency rules of ``hubpush hub check``: metadata against what the registry holds. Pure: no I/O.

An executor is consistent when its metadata records exactly the tags its image repository
holds, each at the digest the registry serves, with a history entry for it, and every
protected tag exists. What breaks that is a push that failed half-way (an *intent*: the
metadata was written first, the image never landed), a tag pushed around hubpush, or a
manifest deleted through the registry's API.

Repairs only ever change the metadata, never images, and only in ways that lose nothing:
the registry is the truth for what ``docker pull`` gets, so recorded tags follow it; a
protected tag that exists is never touched.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import Enum

from .metadata import MAX_HISTORY, ExecutorMetadata, HistoryEntry, TagRecord


class Problem(str, Enum):
    """What can be wrong with one executor (the ``kind`` of a finding in ``--json``)."""

    #: a recorded tag whose manifest the registry no longer holds
    TAG_MISSING = "tag-missing"
    #: a recorded tag the registry serves at another digest
    TAG_MOVED = "tag-moved"
    #: a tag the registry holds that the metadata does not record
    TAG_UNRECORDED = "tag-unrecorded"
    #: a recorded tag with no history entry for its digest
    HISTORY_MISSING = "history-missing"
    #: a protected tag the registry does not hold: the intent of a push that failed
    PROTECTED_TAG_MISSING = "protected-tag-missing"
    #: metadata, but no image repository and no tags: a first publish that failed (the NAME stays reserved)
    NAME_RESERVED = "name-reserved"
    #: an image repository without metadata: pushed around hubpush, or its metadata deleted
    METADATA_MISSING = "metadata-missing"
    #: metadata hubpush cannot read
    METADATA_CORRUPT = "metadata-corrupt"


#: what ``--repair`` may change (the metadata only); everything else needs a person
REPAIRABLE = frozenset({Problem.TAG_MISSING, Problem.TAG_UNRECORDED, Problem.HISTORY_MISSING, Problem.PROTECTED_TAG_MISSING})


@dataclass(frozen=True)
class Finding:
    """One problem of one executor: what is wrong, and what finishes the job."""

    repository: str
    problem: Problem
    message: str
    tag: str | None = None
    #: the digest the registry serves for ``tag`` (None when it holds no such tag)
    registry_digest: str | None = None
    #: False for a protected tag that moved, or for problems only a person can settle
    repairable: bool = False
    #: the command (or step) that settles it
    fix: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "repository": self.repository,
            "kind": self.problem.value,
            "message": self.message,
            "tag": self.tag,
            "registry_digest": self.registry_digest,
            "repairable": self.repairable,
            "fix": self.fix,
        }


REPAIR = "hubpush hub check --repair"


@dataclass(frozen=True)
class ExecutorState:
    """What the registry holds for one executor path: its metadata and its image tags.

    ``metadata`` is None when there is none; ``corrupt`` is the reason when it cannot be read.
    ``tags`` maps each image tag to its manifest digest, None when the image repository does not exist.
    """

    repository: str
    metadata: ExecutorMetadata | None
    tags: dict[str, str] | None
    corrupt: str = ""
    #: the digest of the metadata artifact read, so a repair can tell whether a push changed it since
    version: str = ""


def find_problems(state: ExecutorState) -> list[Finding]:
    """Every problem of one executor, in a stable order (tags sorted)."""
    where = state.repository
    if state.corrupt:
        return [Finding(where, Problem.METADATA_CORRUPT, state.corrupt, fix="repair or delete its metadata with the registry's API")]
    metadata = state.metadata
    if metadata is None:
        if not state.tags:  # no repository, or one whose every manifest was deleted: nothing anyone can pull
            return []
        return [
            Finding(
                where,
                Problem.METADATA_MISSING,
                f"Image repository {where} has no hubpush metadata (pushed around hubpush, or its metadata was deleted).",
                fix="push it with hubpush to claim it, or delete the repository with the registry's API",
            )
        ]
    held = state.tags or {}
    if not held and not metadata.tags:
        return [_reserved(where, metadata)]
    return [*_recorded(where, metadata, held), *_unrecorded(where, metadata, held), *_protected(where, metadata, held), *_history(where, metadata, held)]


def _reserved(where: str, metadata: ExecutorMetadata) -> Finding:
    return Finding(
        where,
        Problem.NAME_RESERVED,
        f"Executor {metadata.name!r} has metadata but no image: its first publish failed, and the NAME stays reserved for its owner.",
        fix=f"hubpush push --force-update {metadata.name} PATH (on the machine that cached its secret)",
    )


def _recorded(where: str, metadata: ExecutorMetadata, held: dict[str, str]) -> list[Finding]:
    """Recorded tags the registry lost, or serves at another digest."""
    found = []
    for tag in sorted(metadata.tags):
        recorded = metadata.tags[tag].digest
        if tag not in held:
            found.append(
                Finding(
                    where, Problem.TAG_MISSING,
                    f"Tag {tag!r} of {where} is recorded at {recorded}, but the registry does not hold it.",
                    tag=tag, repairable=True, fix=REPAIR,
                )
            )
        elif held[tag] != recorded:
            protected = tag in metadata.protected_tags
            found.append(
                Finding(
                    where, Problem.TAG_MOVED,
                    f"Tag {tag!r} of {where} is recorded at {recorded}, but the registry serves {held[tag]}"
                    + (" although it is protected." if protected else "."),
                    tag=tag, registry_digest=held[tag], repairable=not protected,
                    # a protected tag that moved was changed around hubpush: only its owner can say which image is right
                    fix="push the right image again with hubpush, or restore the tag with the registry's API" if protected else REPAIR,
                )
            )
    return found


def _unrecorded(where: str, metadata: ExecutorMetadata, held: dict[str, str]) -> list[Finding]:
    return [
        Finding(
            where, Problem.TAG_UNRECORDED,
            f"Tag {tag!r} of {where} is in the registry at {held[tag]}, but its metadata does not record it.",
            tag=tag, registry_digest=held[tag], repairable=True, fix=REPAIR,
        )
        for tag in sorted(set(held) - set(metadata.tags))
    ]


def _protected(where: str, metadata: ExecutorMetadata, held: dict[str, str]) -> list[Finding]:
    return [
        Finding(
            where, Problem.PROTECTED_TAG_MISSING,
            f"Tag {tag!r} of {where} is recorded as protected, but the registry does not hold it "
            "(the intent of a push that failed).",
            tag=tag, repairable=True, fix=f"push the tag again with hubpush, or {REPAIR} to clear the intent",
        )
        for tag in sorted(dict.fromkeys(metadata.protected_tags))
        if tag not in held
    ]


def _history(where: str, metadata: ExecutorMetadata, held: dict[str, str]) -> list[Finding]:
    """Recorded tags (that the registry agrees with) whose push the history does not tell."""
    if len(metadata.history) >= MAX_HISTORY:
        return []  # the history keeps only its newest entries: an old push may rightly be gone from it
    told = {(entry.tag, entry.digest) for entry in metadata.history}
    return [
        Finding(
            where, Problem.HISTORY_MISSING,
            f"Tag {tag!r} of {where} has no history entry for {record.digest}.",
            tag=tag, registry_digest=record.digest, repairable=True, fix=REPAIR,
        )
        for tag, record in sorted(metadata.tags.items())
        if held.get(tag) == record.digest and (tag, record.digest) not in told
    ]


@dataclass
class Repair:
    """The metadata after the safe repairs, and a sentence for each change made."""

    metadata: ExecutorMetadata
    done: list[str] = field(default_factory=list)


def repaired(metadata: ExecutorMetadata, findings: list[Finding], now: str) -> Repair:
    """``metadata`` (a copy) with every repairable finding settled: missing tags dropped, the
    registry's tags recorded with history, intents of protected tags that never landed cleared.
    Never drops the protection of a tag the registry holds."""
    fixed = copy.deepcopy(metadata)
    repair = Repair(fixed)
    for finding in findings:
        if not finding.repairable or finding.tag is None:
            continue
        tag = finding.tag
        if finding.problem is Problem.TAG_MISSING:
            del fixed.tags[tag]
            repair.done.append(f"dropped tag {tag!r} of {finding.repository}: its manifest is gone")
        elif finding.problem is Problem.PROTECTED_TAG_MISSING:
            fixed.protected_tags = [t for t in fixed.protected_tags if t != tag]
            repair.done.append(f"cleared the intent to protect tag {tag!r} of {finding.repository}: it was never pushed")
        elif finding.registry_digest is not None:  # tag moved, unrecorded, or without history: follow the registry
            _record(fixed, tag, finding.registry_digest, now, already=finding.problem is Problem.HISTORY_MISSING)
            repair.done.append(f"recorded tag {tag!r} of {finding.repository} at {finding.registry_digest}, with history")
    if repair.done:
        fixed.updated_at = now
    return repair


def _record(metadata: ExecutorMetadata, tag: str, digest: str, now: str, *, already: bool) -> None:
    """Record ``tag`` at ``digest`` with a history entry; a tag already recorded keeps its push time."""
    when = metadata.tags[tag].pushed_at if already else now
    metadata.tags[tag] = TagRecord(digest=digest, pushed_at=when)
    metadata.history.append(HistoryEntry(tag=tag, digest=digest, pushed_at=when))
    del metadata.history[:-MAX_HISTORY]
