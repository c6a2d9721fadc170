"""The job a push does (:class:`PushPlan`), made from the settings with local checks only,
and what it ends with (:class:`PushResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import PushSettings
from ..core.metadata import Visibility
from ..core.names import repository_for
from ..core.policy import PushRequest
from ..executor.folder import ExecutorFolder, check_requirement_vars, load_executor_folder
from ..executor.template import render_dockerfile


@dataclass(frozen=True)
class BuildOptions:
    """How the engine builds the image."""

    build_env: dict[str, str] = field(default_factory=dict)
    no_cache: bool = False
    platform: str | None = None


@dataclass(frozen=True)
class PushPlan:
    """One push, everything known before the network is touched: the validated folder, what
    the push asks for (``request``: the NAME asked for, tags, visibility, the secret given for
    an update) and how to build.

    Every front door makes one: the CLI from its flags (:func:`plan_push`); a server could make
    one from an uploaded folder and a request."""

    folder: ExecutorFolder
    #: the rendered template, or None when the folder brings its own Dockerfile
    rendered_dockerfile: str | None
    #: ``request.name`` is ``--force-update NAME``, else the folder's; ``request.secret`` None: ask the local cache
    request: PushRequest
    repository: str
    #: keep ``request.secret`` in the local cache once it is verified (not when it came from the environment)
    remember_secret: bool = False
    build: BuildOptions = field(default_factory=BuildOptions)
    #: things the user should know, in the order they came up; the flow adds to them
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The NAME asked for."""
        return self.request.name

    @property
    def is_update(self) -> bool:
        """True for ``--force-update``."""
        return self.request.is_update

    @property
    def description(self) -> str:
        """The folder's description, which the metadata records."""
        return self.folder.description


def plan_push(settings: PushSettings) -> PushPlan:
    """Step 1 of every push: load and check the folder, render the template when it brings no
    Dockerfile, and name the executor. No network yet."""
    warnings: list[str] = []
    folder = load_executor_folder(settings.path, settings.dockerfile)
    rendered = None
    if folder.dockerfile is None:
        check_requirement_vars(folder, settings.build_env)
        rendered = render_dockerfile(folder, settings.effective_base_image, sorted(settings.build_env))
    elif settings.base_image_flag:
        warnings.append(f"--base-image is ignored: {folder.dockerfile_in_context} in the folder chooses its own base image.")
    name = settings.force_update or folder.name
    repository = repository_for(name)
    if settings.force_update and repository_for(folder.name) != repository:
        warnings.append(f"config.yml names {folder.name!r} but you are updating {name!r}; pushing as {name!r}.")
    request = PushRequest(name, bool(settings.force_update), settings.secret, settings.tags, settings.protected_tags, settings.visibility)
    return PushPlan(
        folder,
        rendered,
        request,
        repository,
        remember_secret=bool(settings.secret) and not settings.secret_from_env,
        build=BuildOptions(settings.build_env, settings.no_cache, settings.platform),
        warnings=warnings,
    )


@dataclass
class PushResult:
    """A finished push, as ``hubpush push`` reports it."""

    name: str
    repository: str
    #: ``host:port[/namespace]``
    registry: str
    visibility: Visibility
    tags: list[str]
    protected_tags: list[str]
    digest: str
    image_references: list[str]
    first_publish: bool
    #: only on first publish; never stored anywhere but the owner's local cache
    secret: str | None = None
    secret_cache: str | None = None
    warnings: list[str] = field(default_factory=list)
    #: the registry's host and the executor's registry user name (for ``docker login``); not in the JSON
    registry_host: str = ""
    username: str = ""
    #: the executor's page on the hub's portal, when it was pushed through a hub ("" otherwise)
    portal_url: str = ""

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "name": self.name,
            "repository": f"{self.registry}/{self.repository}",
            "visibility": self.visibility.value,
            "tags": self.tags,
            "protected_tags": self.protected_tags,
            "digest": self.digest,
            "image_references": self.image_references,
            "first_publish": self.first_publish,
            "warnings": self.warnings,
            "portal_url": self.portal_url,
        }
        if self.secret is not None:
            data["secret"] = self.secret

        return data
