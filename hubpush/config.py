"""Every setting and environment variable of hubpush, named once.

The CLI's flags and the environment are gathered here into one validated object per
command (:class:`PushSettings`); validation that needs no I/O (flag combinations, tag
grammar, ``--build-env`` form) happens here, so a bad command line is refused before
anything else runs. Everything else that reads the environment asks a function here,
at call time, never at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .core.metadata import Visibility
from .core.names import validate_image_reference, validate_name, validate_tag
from .errors import ConflictingFlagsError, SecretWithoutForceUpdateError
from .executor.folder import parse_build_env
from .oci.reference import parse_registry_address

# --- the CLI -------------------------------------------------------------------------
DEFAULT_REGISTRY = "localhost:5000"
REGISTRY_ENV = "HUBPUSH_REGISTRY"
DEFAULT_BASE_IMAGE = "jinaai/jina:latest"
BASE_IMAGE_ENV = "HUBPUSH_BASE_IMAGE"
#: an executor's secret, read by ``push`` only with ``--force-update`` (and by ``show``/``pull``)
SECRET_ENV = "HUBPUSH_SECRET"
#: where the local secret cache lives (default: ``$XDG_CONFIG_HOME/hubpush``, else ``~/.config/hubpush``)
CONFIG_DIR_ENV = "HUBPUSH_CONFIG_DIR"
#: where docker keeps per-registry certificates; hubpush trusts the same ones
DOCKER_CERTS_DIR_ENV = "HUBPUSH_DOCKER_CERTS_DIR"
DEFAULT_DOCKER_CERTS_DIR = "/etc/docker/certs.d"
#: the token a pushing client presents to a hub that lets only its holders create executors
PUSH_PUBLISHER_TOKEN_ENV = "HUBPUSH_PUBLISHER_TOKEN"
#: how long the CLI waits for any one answer of the registry or hub before it gives up
TIMEOUT_ENV = "HUBPUSH_TIMEOUT_SECONDS"
DEFAULT_TIMEOUT_SECONDS = 30.0
#: how long a push may go without a word from the engine (no layer progress) before it gives up
PUSH_STALL_ENV = "HUBPUSH_PUSH_STALL_SECONDS"
DEFAULT_PUSH_STALL_SECONDS = 120.0
#: a line saying the push still waits is printed this often while nothing happens
WAIT_LINE_SECONDS = 5.0

# --- the hub gateway (``hub serve``, ``hub up``) ----------------------------------------
GATEWAY_UPSTREAM_ENV = "HUBPUSH_GATEWAY_UPSTREAM"
GATEWAY_TOKEN_KEY_ENV = "HUBPUSH_GATEWAY_TOKEN_KEY"
#: the publisher token a hub requires (the hub's side of :data:`PUSH_PUBLISHER_TOKEN_ENV`)
GATEWAY_PUBLISHER_TOKEN_ENV = "HUBPUSH_GATEWAY_PUBLISHER_TOKEN"


def seconds_from_env(name: str, default: float) -> float:
    """A positive number of seconds from the environment variable ``name`` (``default`` when unset)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 86400:
        raise ConflictingFlagsError(f"{name} must be a number of seconds between 0 and 86400, not {raw[:40]!r}; fix or unset it.")
    return value


def request_timeout() -> float:
    """How long hubpush waits for one answer of a registry or hub (:data:`TIMEOUT_ENV`)."""
    return seconds_from_env(TIMEOUT_ENV, DEFAULT_TIMEOUT_SECONDS)


def push_stall_seconds() -> float:
    """How long a push may see no progress before it gives up (:data:`PUSH_STALL_ENV`)."""
    return seconds_from_env(PUSH_STALL_ENV, DEFAULT_PUSH_STALL_SECONDS)


def docker_certs_dir() -> Path:
    """Docker's per-registry certificate folder (``certs.d``)."""
    return Path(os.environ.get(DOCKER_CERTS_DIR_ENV, DEFAULT_DOCKER_CERTS_DIR))


def default_config_dir() -> Path:
    """The folder of the local secret cache."""
    if os.environ.get(CONFIG_DIR_ENV):
        return Path(os.environ[CONFIG_DIR_ENV])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hubpush"


def default_hub_state_dir() -> Path:
    """Where ``hub up`` keeps the local hub's state; it follows ``$HOME``."""
    return Path.home() / ".hubpush" / "hub"


def push_publisher_token() -> str | None:
    """The publisher token this client sends to a hub on a first publish, if one is set."""
    return os.environ.get(PUSH_PUBLISHER_TOKEN_ENV)


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
class PushSettings:
    """Everything ``hubpush push`` was asked, validated: one object, made by :meth:`from_flags`."""
    path: Path
    registry: str = DEFAULT_REGISTRY
    visibility: Visibility | None = None
    force_update: str | None = None
    secret: str | None = None
    #: True when the secret came from HUBPUSH_SECRET: such a secret is not written to the local cache
    secret_from_env: bool = False
    tags: list[str] = field(default_factory=list)
    protected_tags: list[str] = field(default_factory=list)
    dockerfile: str | None = None
    build_env: dict[str, str] = field(default_factory=dict)
    platform: str | None = None
    no_cache: bool = False
    #: the base image for the template, as given by --base-image (None: env or default)
    base_image_flag: str | None = None
    base_image_env: str | None = None

    @property
    def effective_base_image(self) -> str:
        """The template's base image: ``--base-image``, else the environment, else the default."""
        return self.base_image_flag or self.base_image_env or DEFAULT_BASE_IMAGE

    # one keyword-only parameter per flag of `hubpush push`: the command passes them through by name
    @classmethod
    def from_flags(
        cls,
        *,
        path: Path,
        public: bool = False,
        private: bool = False,
        force_update: str | None = None,
        secret: str | None = None,
        tags: list[str] | None = None,
        protected_tags: list[str] | None = None,
        dockerfile: str | None = None,
        build_env: list[str] | None = None,
        platform: str | None = None,
        no_cache: bool = False,
        base_image: str | None = None,
        registry: str | None = None,
    ) -> PushSettings:
        """Gather and validate the flags and the environment; raise the first refusal."""
        visibility = visibility_from_flags(public, private)
        secret_from_env = False
        registry = DEFAULT_REGISTRY if registry is None else registry
        parse_registry_address(registry)  # a malformed --registry is a flag error, refused with the others
        if secret and not force_update:
            raise SecretWithoutForceUpdateError(
                "--secret only makes sense with --force-update NAME; add --force-update, or drop --secret to publish a new executor."
            )
        if force_update:
            validate_name(force_update)
            # from the environment only for updates, so a CI variable never turns a first publish into an error
            if not secret and os.environ.get(SECRET_ENV):
                secret, secret_from_env = os.environ[SECRET_ENV], True
        for tag in [*(tags or []), *(protected_tags or [])]:
            validate_tag(tag)
        base_image_env = os.environ.get(BASE_IMAGE_ENV) or None
        for reference in (base_image, base_image_env):
            if reference:
                validate_image_reference(reference)
        return cls(
            path=path,
            registry=registry,
            visibility=visibility,
            force_update=force_update,
            secret=secret,
            secret_from_env=secret_from_env,
            tags=list(tags or []),
            protected_tags=list(protected_tags or []),
            dockerfile=dockerfile,
            build_env=parse_build_env(build_env or []),
            platform=platform,
            no_cache=no_cache,
            base_image_flag=base_image,
            base_image_env=base_image_env,
        )
