"""Names and their grammar: executor NAMEs, tags, image references, repository paths.

Pure: no I/O. The OCI grammar (tags, repository paths, image references) and hubpush's
own naming on top of it (NAME -> repository, the ``hubpush-meta`` namespace that holds
metadata, registry user names) live here, apart from any policy, so the registry adapter
and the gateway's request parser can use them without importing who-may-do-what.
"""

from __future__ import annotations

import re

from ..errors import InvalidBaseImageError, InvalidExecutorNameError, InvalidTagError

_SEPARATORS = re.compile(r"[-_.]")
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
    """``name`` if it is a valid executor NAME, else the refusal."""
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


def fold_name(name: str) -> str:
    """What a NAME or repository reads as: case and the separators ``-``, ``_``, ``.`` dropped.

    ``PrivB``, ``PRIVB``, ``priv-b`` and ``Priv_B`` all fold to ``privb``; ``repository_for(name)``
    folds like ``name`` itself. Two executors whose NAMEs fold alike would read the same to people.
    """
    return _SEPARATORS.sub("", name).lower()


def folded_path(path: str) -> str:
    """A repository path with its last component folded (``team/priv-b`` -> ``team/privb``)."""
    namespace, _, repository = path.rpartition("/")
    return f"{namespace}/{fold_name(repository)}" if namespace else fold_name(repository)


def confusable_paths(path: str, executors: list[str]) -> list[str]:
    """The executors (full paths) other than ``path``, in its namespace, whose repository folds like its own."""
    folded = folded_path(path)
    return [other for other in executors if other != path and folded_path(other) == folded]


def metadata_repository(repository: str) -> str:
    """Where the metadata artifact of ``repository`` lives."""
    return f"{METADATA_NAMESPACE}/{repository}"


def validate_tag(tag: str) -> str:
    """``tag`` if it is a valid tag, else the refusal."""
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


def is_repository_path(path: str) -> bool:
    """A valid OCI repository path (``team/ml/hello``), within distribution's length limit."""
    return 0 < len(path) <= MAX_REPOSITORY_LENGTH and all(PATH_COMPONENT_PATTERN.fullmatch(part) for part in path.split("/"))


def source_tag(image_digest: str) -> str:
    """The tag, in the executor's metadata repository, of the source zip its image ``sha256:HEX`` was built from."""
    return "source-" + image_digest.partition(":")[2]


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


def executor_paths(catalog: list[str]) -> list[str]:
    """The executors in a registry catalog: the repositories that have a metadata repository,
    ``[ns/]hubpush-meta/REPO`` -> ``[ns/]REPO``."""
    found = []
    for name in catalog:
        parts = name.split("/")
        if METADATA_NAMESPACE in parts[:-1]:
            at = parts.index(METADATA_NAMESPACE)
            if at == len(parts) - 2:
                found.append("/".join(parts[:at] + parts[at + 1 :]))
    return found


def jinahub_uri(name: str, tag: str, *, private: bool) -> str:
    """How a Jina Flow names the executor on a hub (with ``JINA_HUBBLE_REGISTRY=http://HUB/jina``);
    a private one carries its secret, written here as the placeholder ``SECRET``."""
    return f"jinahub+docker://{name}{':SECRET' if private else ''}/{tag}"
