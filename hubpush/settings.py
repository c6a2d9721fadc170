"""Flags and environment gathered into one validated object per command.

Validation that needs no I/O (flag combinations, tag grammar, ``--build-env``
form) happens here, so a bad command line is refused before anything else runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SecretWithoutForceUpdateError
from .executor import parse_build_env
from .metadata import Visibility
from .registry import parse_registry_address
from .rules import validate_image_reference, validate_name, validate_tag, visibility_from_flags

DEFAULT_REGISTRY = "localhost:5000"
DEFAULT_BASE_IMAGE = "jinaai/jina:latest"
BASE_IMAGE_ENV = "HUBPUSH_BASE_IMAGE"
SECRET_ENV = "HUBPUSH_SECRET"


@dataclass(frozen=True)
class PushSettings:
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
        return self.base_image_flag or self.base_image_env or DEFAULT_BASE_IMAGE

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
