"""Pure rules: names, tags, visibility and who may push what.

No I/O lives here, so the CLI and the hub gateway apply exactly the same rules to
the same inputs (the metadata document and the registry's tag list).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import (
    ConflictingFlagsError,
    ExecutorNotFoundError,
    InvalidBaseImageError,
    InvalidExecutorNameError,
    InvalidTagError,
    NameTakenError,
    ProtectedTagError,
    SecretRequiredError,
    WrongSecretError,
)
from .metadata import ExecutorMetadata, Visibility
from .secret import verify_secret

#: Executor NAMEs as Jina Hub accepted them: letters, digits, ``_ . -``, at most 64.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$")
#: Docker / OCI tag grammar.
TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
DEFAULT_TAG = "latest"
#: One component of an OCI repository path: distribution's grammar, with "-+" for its "[-]*". Both
#: accept the same names, but "[-]*" lets Python's backtracking regex engine take exponential time.
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
#: distribution's limit on a whole repository path
MAX_REPOSITORY_LENGTH = 255
PATH_COMPONENT_PATTERN = re.compile(_PATH)
#: A Docker image reference: [registry[:port]/]path[:tag][@digest], path components lower case.
IMAGE_REFERENCE_PATTERN = re.compile(
    rf"(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?{_PATH}(?:/{_PATH})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?(?:@sha256:[a-f0-9]{{64}})?"
)
#: Repository namespace that holds the metadata artifacts, one repository per executor.
METADATA_NAMESPACE = "hubpush-meta"
#: The metadata artifact's tag inside its repository.
METADATA_TAG = "current"


def validate_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidExecutorNameError(
            f"Executor name {name!r} is not valid: use 1-64 letters, digits, '_', '.' or '-', "
            "starting and ending with a letter or digit."
        )
    return name


def repository_for(name: str) -> str:
    """Map an executor NAME to its OCI repository name, predictably.

    CamelCase words become kebab-case and everything is lower-cased, because OCI
    repository names must be lower case: ``TagsHasher`` -> ``tags-hasher``,
    ``HTTPClient2`` -> ``http-client2``, ``my_exec`` -> ``my-exec``.
    """
    validate_name(name)
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", name)
    words = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", words)
    repository = re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")
    if repository == METADATA_NAMESPACE:
        raise InvalidExecutorNameError(
            f"Executor name {name!r} is reserved by hubpush for its metadata; choose another metas.name."
        )
    return repository


def metadata_repository(repository: str) -> str:
    """Where the metadata artifact of ``repository`` lives."""
    return f"{METADATA_NAMESPACE}/{repository}"


def validate_tag(tag: str) -> str:
    if not TAG_PATTERN.fullmatch(tag):
        raise InvalidTagError(
            f"Tag {tag!r} is not valid: use up to 128 letters, digits, '_', '.' or '-', "
            "not starting with '.' or '-'."
        )
    return tag


def validate_image_reference(reference: str) -> str:
    """A base image named on the command line; it goes into a Dockerfile, so nothing else may."""
    if not IMAGE_REFERENCE_PATTERN.fullmatch(reference):
        raise InvalidBaseImageError(
            f"Base image {reference!r} is not an image reference; write it as [REGISTRY/]NAME[:TAG], e.g. jinaai/jina:latest."
        )
    return reference


def requested_tags(tags: list[str], protected_tags: list[str]) -> list[str]:
    """The tags one push writes: exactly the ones named, or ``latest`` when none are.

    ``--protected-tag`` tags are pushed too. Order is kept, duplicates dropped.
    """
    named = list(dict.fromkeys([*tags, *protected_tags]))
    for tag in named:
        validate_tag(tag)
    return named or [DEFAULT_TAG]


def visibility_from_flags(public: bool, private: bool) -> Visibility | None:
    """``None`` means "no flag given": keep what the executor has (public when new)."""
    if public and private:
        raise ConflictingFlagsError("--public and --private cannot be used together; pick one.")
    if private:
        return Visibility.PRIVATE
    if public:
        return Visibility.PUBLIC
    return None


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
) -> PushDecision:
    """Decide whether ``request`` may go ahead; raise the user-facing refusal if not.

    ``current`` is the executor's metadata (None when absent); ``registry_tags`` the
    repository's tag list (None when the repository does not exist). Nothing here
    touches the network, so this runs before any build starts.
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
        return PushDecision(True, tags, list(dict.fromkeys(request.protected_tags)), request.visibility or Visibility.PUBLIC)

    if current is None:
        raise ExecutorNotFoundError(
            f"No executor named {request.name!r} exists at {registry}/{repository}; "
            "publish it first with 'hubpush push PATH' (without --force-update)."
        )
    check_secret(current, request.secret)
    locked = locked_tags(tags, current, registry_tags or [])
    if locked:
        names = ", ".join(repr(t) for t in locked)
        raise ProtectedTagError(
            f"Tag {names} of executor {current.name!r} is protected and cannot be pushed again; "
            "push under a new tag instead. Nothing was pushed."
        )
    protected = list(dict.fromkeys([*current.protected_tags, *request.protected_tags]))
    return PushDecision(False, tags, protected, request.visibility or current.visibility)


def check_secret(metadata: ExecutorMetadata, secret: str | None) -> None:
    """Raise unless ``secret`` is the executor's secret."""
    if not secret:
        raise SecretRequiredError(
            f"Executor {metadata.name!r} needs its secret: pass --secret SECRET "
            "(it is cached automatically only on the machine that published it)."
        )
    if not verify_secret(secret, metadata.secret_hash):
        raise WrongSecretError(f"The secret given for executor {metadata.name!r} is wrong; nothing was changed.")


def may_read(metadata: ExecutorMetadata, secret: str | None) -> bool:
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


def may_pull(metadata: ExecutorMetadata, proven: bool) -> bool:
    """Public executors are pulled by anyone; private ones only by who proved the secret."""
    return metadata.visibility is Visibility.PUBLIC or proven


def is_repository_path(path: str) -> bool:
    """A valid OCI repository path (``team/ml/hello``), within distribution's length limit."""
    return 0 < len(path) <= MAX_REPOSITORY_LENGTH and all(PATH_COMPONENT_PATTERN.fullmatch(part) for part in path.split("/"))


def is_metadata_path(path: str) -> bool:
    """True for repositories inside the metadata namespace (``[ns/]hubpush-meta/...``)."""
    return METADATA_NAMESPACE in path.split("/")


def repository_for_username(username: str) -> str | None:
    """The repository path a registry username (``NAME`` or ``NAMESPACE/NAME``) stands for.

    Registry credentials are an executor's NAME and SECRET; the NAME maps to its repository
    exactly as :func:`repository_for` maps it on push. None when the username cannot be a NAME.
    """
    namespace, _, name = username.rpartition("/")
    if namespace and not all(PATH_COMPONENT_PATTERN.fullmatch(part) for part in namespace.split("/")):
        return None
    if not NAME_PATTERN.fullmatch(name) or (namespace and is_metadata_path(namespace)):
        return None
    try:
        repository = repository_for(name)
    except InvalidExecutorNameError:
        return None
    return f"{namespace}/{repository}" if namespace else repository
