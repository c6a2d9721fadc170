"""The one hierarchy of user-facing errors.

Every failure a user can cause or meet is a :class:`HubpushError` subclass carrying
one clear sentence and, as class attributes, everything each front door needs to say it:
the process exit code and ``kind`` (the CLI), and the HTTP status and OCI error code
(the hub gateway's error bodies). The CLI turns them into output in exactly one place
(``hubpush.cli.app``); nothing else prints errors or calls ``sys.exit``.
Messages never contain a secret.
"""

from __future__ import annotations


class HubpushError(Exception):
    """Base class: a message for the user and a distinct process exit code."""

    exit_code: int = 1
    #: short machine-readable kind, used in ``--json`` error output and in the gateway's error details
    kind: str = "error"
    #: what the hub gateway answers with when this error refuses a request
    http_status: int = 400
    #: the OCI distribution error code of that answer
    oci_code: str = "DENIED"

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: optional extra lines (e.g. the end of a build log) shown below the sentence
        self.detail = detail


# --- usage: flag combinations -------------------------------------------------------
class ConflictingFlagsError(HubpushError):
    exit_code = 2
    kind = "usage"
    http_status = 400
    oci_code = "UNSUPPORTED"


class SecretWithoutForceUpdateError(HubpushError):
    exit_code = 3
    kind = "secret-without-force-update"


class InvalidRegistryAddressError(HubpushError):
    exit_code = 4
    kind = "invalid-registry-address"


class InvalidBaseImageError(HubpushError):
    exit_code = 5
    kind = "invalid-base-image"


# --- the executor folder ------------------------------------------------------------
class ExecutorFolderNotFoundError(HubpushError):
    exit_code = 10
    kind = "folder-not-found"


class InvalidExecutorConfigError(HubpushError):
    """Missing or unreadable config.yml / manifest.yml, invalid YAML, no ``jtype``."""

    exit_code = 11
    kind = "invalid-config"
    http_status = 400
    oci_code = "UNSUPPORTED"


class ExecutorNameMissingError(HubpushError):
    exit_code = 12
    kind = "name-missing"


class InvalidExecutorNameError(HubpushError):
    exit_code = 13
    kind = "invalid-name"
    http_status = 400
    oci_code = "NAME_INVALID"


class DockerfileError(HubpushError):
    exit_code = 14
    kind = "dockerfile"


class InvalidTagError(HubpushError):
    exit_code = 15
    kind = "invalid-tag"
    http_status = 400
    oci_code = "TAG_INVALID"


class InvalidBuildEnvError(HubpushError):
    exit_code = 16
    kind = "invalid-build-env"


class MissingBuildEnvError(HubpushError):
    exit_code = 17
    kind = "missing-build-env"


# --- who may push what ---------------------------------------------------------------
class ExecutorNotFoundError(HubpushError):
    exit_code = 20
    kind = "executor-not-found"
    http_status = 404
    oci_code = "NAME_UNKNOWN"


class NameTakenError(HubpushError):
    exit_code = 21
    kind = "name-taken"
    http_status = 409
    oci_code = "DENIED"


class SecretRequiredError(HubpushError):
    exit_code = 22
    kind = "secret-required"
    http_status = 401
    oci_code = "UNAUTHORIZED"


class WrongSecretError(HubpushError):
    exit_code = 23
    kind = "wrong-secret"
    http_status = 403
    oci_code = "DENIED"


class ProtectedTagError(HubpushError):
    exit_code = 24
    kind = "protected-tag"
    http_status = 412
    oci_code = "DENIED"


class ConcurrentPushError(HubpushError):
    """Another push of the same executor wrote its metadata between our write and our read-back."""

    exit_code = 25
    kind = "concurrent-push"


class PublisherTokenError(HubpushError):
    """The hub only lets holders of its publisher token create new executors."""

    exit_code = 27
    kind = "publisher-token"
    http_status = 403
    oci_code = "DENIED"


class MalformedMessageError(HubpushError):
    """A hub API request or answer that breaks the contract of :mod:`hubpush.hubapi` (a field
    missing or of the wrong type): client and hub do not speak the same version."""

    exit_code = 28
    kind = "malformed-message"
    http_status = 400
    oci_code = "UNSUPPORTED"


class UploadRejectedError(HubpushError):
    """An uploaded executor archive (a zip from ``jina hub push``) that hubpush will not unpack:
    too large, too many entries, a decompression bomb, paths out of the folder, links, devices."""

    exit_code = 29
    kind = "upload-rejected"
    http_status = 400
    oci_code = "UNSUPPORTED"


class SecretCacheError(HubpushError):
    """The local secret cache cannot be read or written."""

    exit_code = 26
    kind = "secret-cache"


class RateLimitedError(HubpushError):
    """The hub refused to check a secret now: too many wrong ones came from this address, or were
    tried for this executor, lately. Nothing was checked or changed; the sentence says when to retry."""

    exit_code = 39
    kind = "rate-limited"
    http_status = 429
    oci_code = "TOOMANYREQUESTS"

    def __init__(self, message: str, *, retry_after: int = 1, detail: str | None = None) -> None:
        super().__init__(message, detail=detail)
        #: whole seconds, for the ``Retry-After`` header
        self.retry_after = retry_after


# --- infrastructure ------------------------------------------------------------------
class RegistryUnreachableError(HubpushError):
    exit_code = 30
    kind = "registry-unreachable"


class RegistryError(HubpushError):
    """The registry answered, but not as the OCI distribution spec says it should."""

    exit_code = 31
    kind = "registry-error"


class RegistryAuthError(RegistryError):
    """The registry wants credentials we do not have (or refused the ones we have)."""

    exit_code = 36
    kind = "registry-auth"


class DockerUnreachableError(HubpushError):
    exit_code = 32
    kind = "docker-unreachable"


class BuildContextError(HubpushError):
    """A file of the executor folder cannot be put into the build context."""

    exit_code = 18
    kind = "build-context"


class BuildFailedError(HubpushError):
    exit_code = 33
    kind = "build-failed"


class PlatformMismatchError(HubpushError):
    """The engine built for another platform than ``--platform`` asked (it may ignore the flag)."""

    exit_code = 19
    kind = "platform-mismatch"


class PushFailedError(HubpushError):
    exit_code = 34
    kind = "push-failed"


class PullFailedError(HubpushError):
    exit_code = 37
    kind = "pull-failed"


class HubStartError(HubpushError):
    """``hubpush hub up`` / ``hub serve`` could not bring the local hub up."""

    exit_code = 38
    kind = "hub-start"


class MetadataCorruptError(HubpushError):
    exit_code = 35
    kind = "metadata-corrupt"
    http_status = 500
    oci_code = "UNKNOWN"


# --- the hub's own builds (``jina hub push`` against the hub) -----------------------------
class BuildsDisabledError(HubpushError):
    """The hub was asked to build an uploaded folder but has no Docker engine (or builds are off)."""

    exit_code = 50
    kind = "builds-disabled"
    http_status = 501
    oci_code = "UNSUPPORTED"


class HubBusyError(HubpushError):
    """Every build slot and every place in the hub's build queue is taken."""

    exit_code = 51
    kind = "hub-busy"
    http_status = 503
    oci_code = "TOOMANYREQUESTS"


class BuildTimeoutError(HubpushError):
    """A build on the hub ran longer than the hub allows."""

    exit_code = 52
    kind = "build-timeout"
    http_status = 504
    oci_code = "UNAVAILABLE"


# --- the consistency check ----------------------------------------------------------
class InconsistentRegistryError(HubpushError):
    """``hubpush hub check`` found problems that remain (after ``--repair``, the ones it may not settle)."""

    exit_code = 44
    kind = "inconsistent"


class CheckThroughGatewayError(HubpushError):
    """``hubpush hub check`` was pointed at a hub gateway, which hides private executors."""

    exit_code = 45
    kind = "check-through-gateway"


def all_error_classes() -> list[type[HubpushError]]:
    """Every concrete error class, for the docs table and the exit-code uniqueness test."""
    found: list[type[HubpushError]] = []
    stack = list(HubpushError.__subclasses__())
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.exit_code)
