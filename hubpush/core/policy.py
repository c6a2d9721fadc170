"""The policy: who may push, pull and read what. Pure: no I/O.

Everything here decides on two inputs only, the executor's metadata document and the
registry's tag list, so the CLI (against a bare registry) and the hub gateway apply the
very same decisions. Checks that verify a secret run scrypt: CPU, not I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import (
    InvalidTagError,
    ExecutorNotFoundError,
    NameTakenError,
    ProtectedTagError,
    SecretRequiredError,
    WrongSecretError,
)
from .metadata import MAX_TAGS_PER_EXECUTOR, ExecutorMetadata, Visibility
from .names import DEFAULT_TAG, fold_name, repository_for, validate_tag
from .secrets import verify_secret

#: ``verify(secret, secret_hash)``: scrypt by default; the gateway hands in the answer of its limited, cached check
SecretVerifier = Callable[[str, str], bool]


def requested_tags(tags: list[str], protected_tags: list[str]) -> list[str]:
    """The tags one push writes: exactly the ones named, or ``latest`` when none are.

    ``--protected-tag`` tags are pushed too. Order is kept, duplicates dropped.
    """
    named = list(dict.fromkeys([*tags, *protected_tags]))
    for tag in named:
        validate_tag(tag)
    return named or [DEFAULT_TAG]


@dataclass(frozen=True)
class PushRequest:
    """What a client asks to do, independent of how it asked (CLI flags or HTTP)."""

    name: str
    is_update: bool
    secret: str | None
    tags: list[str]
    protected_tags: list[str]
    visibility: Visibility | None


@dataclass(frozen=True)
class PushDecision:
    """What a permitted push will do."""

    is_first_publish: bool
    tags: list[str]
    protected_tags: list[str]
    visibility: Visibility


def locked_tags(requested: list[str], metadata: ExecutorMetadata, registry_tags: list[str]) -> list[str]:
    """Requested tags that are protected and already exist, so may never move.

    A tag recorded as protected whose push never completed (absent from both the
    metadata and the registry) is not locked: retrying the failed push must work.
    """
    existing = set(registry_tags) | set(metadata.tags)
    return [t for t in requested if t in metadata.protected_tags and t in existing]


def decide_push(
    request: PushRequest,
    current: ExecutorMetadata | None,
    registry_tags: list[str] | None,
    *,
    registry: str,
    rivals: Sequence[ExecutorMetadata] = (),
    verify: SecretVerifier = verify_secret,
) -> PushDecision:
    """Decide whether ``request`` may go ahead; raise the user-facing refusal if not.

    ``current`` is the executor's metadata (None when absent); ``registry_tags`` the
    repository's tag list (None when the repository does not exist); ``rivals`` the metadata
    of other executors in the same namespace (those whose repositories fold alike suffice).
    Nothing here touches the network, so this runs before any build starts.
    """
    repository = repository_for(request.name)
    tags = requested_tags(request.tags, request.protected_tags)

    if not request.is_update:
        if current is not None:
            raise NameTakenError(
                f"Executor {current.name!r} already exists at {registry}/{repository}; to update it run "
                f"'hubpush push --force-update {current.name} --secret SECRET PATH'."
            )
        if registry_tags:
            raise NameTakenError(
                f"Repository {registry}/{repository} already holds images not published by hubpush; "
                "choose another metas.name in config.yml."
            )
        rival = confusable_rival(repository, rivals)
        if rival is not None:
            raise NameTakenError(
                f"Executor name {request.name!r} reads the same as the existing executor {rival.name!r} "
                f"({registry}/{rival.repository}), so it is taken: choose another metas.name in config.yml, or, if that "
                f"executor is yours, update it with 'hubpush push --force-update {rival.name} --secret SECRET PATH'."
            )
        return PushDecision(True, tags, list(dict.fromkeys(request.protected_tags)), request.visibility or Visibility.PUBLIC)

    if current is None:
        raise ExecutorNotFoundError(
            f"No executor named {request.name!r} exists at {registry}/{repository}; "
            "publish it first with 'hubpush push PATH' (without --force-update)."
        )
    check_secret(current, request.secret, verify)
    locked = locked_tags(tags, current, registry_tags or [])
    if locked:
        names = ", ".join(repr(t) for t in locked)
        raise ProtectedTagError(
            f"Tag {names} of executor {current.name!r} is protected and cannot be pushed again; "
            "push under a new tag instead. Nothing was pushed."
        )
    protected = list(dict.fromkeys([*current.protected_tags, *request.protected_tags]))
    return PushDecision(False, tags, protected, request.visibility or current.visibility)


def confusable_rival(repository: str, rivals: Sequence[ExecutorMetadata]) -> ExecutorMetadata | None:
    """The first of ``rivals`` (another executor's metadata) whose repository reads like ``repository``.

    Only first publishes are refused for it: executors that already collide stay usable."""
    folded = fold_name(repository)
    return next((r for r in rivals if r.repository != repository and fold_name(r.repository) == folded), None)


def check_secret(metadata: ExecutorMetadata, secret: str | None, verify: SecretVerifier = verify_secret) -> None:
    """Raise unless ``secret`` is the executor's secret."""
    if not secret:
        raise SecretRequiredError(
            f"Executor {metadata.name!r} needs its secret: pass --secret SECRET "
            "(it is cached automatically only on the machine that published it)."
        )
    if not verify(secret, metadata.secret_hash):
        raise WrongSecretError(f"The secret given for executor {metadata.name!r} is wrong; nothing was changed.")


def readable_with(metadata: ExecutorMetadata, secret: str | None) -> bool:
    """Public executors are readable by anyone; private ones only with their secret."""
    if metadata.visibility is Visibility.PUBLIC:
        return True
    return secret is not None and verify_secret(secret, metadata.secret_hash)


def check_tag_write(metadata: ExecutorMetadata, tag: str, tag_exists: bool) -> None:
    """Refuse moving ``tag`` when it is protected and already exists, whoever pushes it.

    The gateway applies this to every manifest PUT, so it holds for plain ``docker push``
    too, and under its per-executor lock it decides concurrent pushes of a new protected tag.
    """
    if locked_tags([tag], metadata, [tag] if tag_exists else []):
        raise ProtectedTagError(
            f"Tag {tag!r} of executor {metadata.name!r} is protected and already exists, so it cannot be pushed "
            "again; push under a new tag instead."
        )
    if tag not in metadata.tags and len(metadata.tags) >= MAX_TAGS_PER_EXECUTOR:
        # every tag is kept in the metadata, which each pull decision reads: its size must stay bounded
        raise InvalidTagError(
            f"Executor {metadata.name!r} already has {len(metadata.tags)} tags, the most the hub keeps; push to an existing tag."
        )


def may_pull(metadata: ExecutorMetadata, proven: bool) -> bool:
    """Public executors are pulled by anyone; private ones only by who proved the secret."""
    return metadata.visibility is Visibility.PUBLIC or proven
