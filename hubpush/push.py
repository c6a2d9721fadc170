"""The push flow (our twine ``commands/upload.py``): folder -> checks -> build -> push.

Order matters and is the point of this module:

1. validate everything local (flags, folder, Dockerfile, ``${VAR}``s);
2. read the registry: metadata + tag list, and apply :mod:`hubpush.rules`
   (secret, NAME taken, protected tags) -- every refusal happens here, before
   any build starts and before anything is written;
3. build the image;
4. write the metadata *intent* (owner, visibility, protected tags) -- so no tag
   is ever pushed before its protection is recorded, and no executor image ever
   exists without metadata;
5. push the first tag through the engine (layers uploaded once), point the other
   tags at the same manifest through the registry API (no layer traffic at all);
6. write the final metadata with each tag's digest and push time.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from . import __version__
from .builder import BuildRequest, DockerBuilder
from .context import RENDERED_DOCKERFILE, BuildContext, content_timestamp, render_dockerfile
from .errors import ConcurrentPushError, HubpushError, ProtectedTagError, PushFailedError
from .executor import ExecutorFolder, check_requirement_vars, load_executor_folder
from .metadata import ExecutorMetadata, Visibility, utc_now
from .metadata_store import MetadataStore
from .hub_client import PUBLISHER_TOKEN_ENV, HubGateway
from .registry import RegistryClient
from .rules import PushDecision, PushRequest, decide_push, repository_for
from .secret import generate_secret, hash_secret
from .secret_store import SecretStore
from .settings import PushSettings


class Reporter(Protocol):
    """Where the flow tells people what it is doing. The CLI renders it."""

    def step(self, message: str) -> None: ...

    def log(self, line: str) -> None: ...


class SilentReporter:
    def step(self, message: str) -> None: ...

    def log(self, line: str) -> None: ...


@dataclass
class PushResult:
    name: str
    repository: str
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
        }
        if self.secret is not None:
            data["secret"] = self.secret
        return data


def image_labels(folder: ExecutorFolder, name: str, repository: str, created: str) -> dict[str, str]:
    """OCI labels from config.yml / manifest.yml, plus hubpush's own. Never the secret."""
    labels = {
        "org.opencontainers.image.title": name,
        "org.opencontainers.image.description": folder.description,
        "org.opencontainers.image.source": folder.source,
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.version": folder.version,
        "io.hubpush.name": name,
        "io.hubpush.repository": repository,
        "io.hubpush.executor-class": folder.jtype,
        "io.hubpush.builder-version": __version__,
    }
    # empty OCI values are kept on purpose: they override what the base image says of itself
    return {key: value for key, value in labels.items() if value or key.startswith("org.opencontainers.")}


def push_executor(
    settings: PushSettings,
    reporter: Reporter | None = None,
    *,
    secret_store: SecretStore | None = None,
) -> PushResult:
    """Publish or update the executor in ``settings.path``; see the module docstring for the order."""
    reporter = reporter or SilentReporter()
    secret_store = secret_store or SecretStore()
    warnings: list[str] = []

    # 1. everything local
    folder, rendered = _prepare_folder(settings, warnings)
    name = settings.force_update or folder.name
    repository = repository_for(name)
    if settings.force_update and repository_for(folder.name) != repository:
        warnings.append(f"config.yml names {folder.name!r} but you are updating {name!r}; pushing as {name!r}.")

    # 2. the registry's view, and the rules -- all refusals happen here
    registry = RegistryClient(settings.registry)
    reporter.step(f"Checking {registry.location}/{repository}")
    registry.ping()
    gateway = HubGateway.detect(registry)
    if gateway is not None:
        return _push_through_gateway(settings, reporter, secret_store, gateway, folder, rendered, name, repository, warnings)
    store = MetadataStore(registry)
    current = store.read(repository)
    secret = settings.secret
    if settings.force_update and not secret:
        secret = secret_store.get(registry.location, repository)
    request = PushRequest(
        name=name,
        is_update=bool(settings.force_update),
        secret=secret,
        tags=settings.tags,
        protected_tags=settings.protected_tags,
        visibility=settings.visibility,
    )
    registry_tags = registry.list_tags(repository) or []
    decision = decide_push(request, current, registry_tags, registry=registry.location)
    if current is not None and current.name != name:
        # `--force-update tags_hasher` reaches `TagsHasher` (same repository): keep the recorded NAME
        warnings.append(f"{name!r} is executor {current.name!r} (repository {repository}); updating it under that name.")
        name = current.name
    builder = DockerBuilder()

    # 3. build
    image = f"{registry.location}/{repository}"
    reporter.step(f"Building {image}:{decision.tags[0]} from {folder.path}")
    # the secret cache never enters a build context, even when someone keeps it inside the folder
    never_sent = [secret_store.path.parent]
    _build(builder, settings, folder, rendered, never_sent, image, name, repository, decision.tags, reporter)

    # 4. metadata intent, before any tag moves
    previous = copy.deepcopy(current)  # restored byte for byte if the push ends up moving no tag
    new_secret = None
    if decision.is_first_publish:
        new_secret = generate_secret()
        # cached before anything is written, so a push that fails half-way can be resumed
        secret_store.put(registry.location, repository, new_secret)
        metadata = _new_metadata(name, repository, folder, decision, hash_secret(new_secret))
    else:
        assert current is not None  # decide_push guarantees it
        metadata = _updated_metadata(current, folder, decision)
        if settings.secret and not settings.secret_from_env:  # verified: remember it on this machine too
            secret_store.put(registry.location, repository, settings.secret)
    # where the first tag points now, to tell after a failure whether it moved (no request for a new tag)
    first_tag_before = _digest_of(registry, repository, decision.tags[0]) if decision.tags[0] in registry_tags else None
    wrote_intent = False
    try:
        reporter.step("Recording metadata")
        _write_intent(store, metadata)
        wrote_intent = True

        # 5. push: one engine push, then the other tags by manifest copy
        digest = _push_tags(builder, registry, image, repository, decision.tags, reporter)

        # 6. final metadata
        metadata = _write_result(store, metadata, decision.tags, digest)
    except HubpushError as exc:
        if wrote_intent and not isinstance(exc, ConcurrentPushError):
            _explain_failed_push(exc, store, registry, secret_store, previous, name, repository, decision, first_tag_before)
        raise
    if metadata.visibility is Visibility.PRIVATE:
        # honest about the limit: a plain registry serves every image to whoever can reach it
        warnings.append(
            f"'private' is recorded in the metadata, but a plain registry does not enforce it: anyone who can reach "
            f"{registry.location} can pull this image; put the hub gateway in front of it ('hubpush hub up', or "
            "'hubpush hub serve') to enforce it."
        )
    return PushResult(
        name=name,
        repository=repository,
        registry=registry.location,
        visibility=metadata.visibility,
        tags=decision.tags,
        protected_tags=metadata.protected_tags,
        digest=digest,
        image_references=[f"{image}:{tag}" for tag in decision.tags],
        first_publish=decision.is_first_publish,
        secret=new_secret,
        secret_cache=str(secret_store.path) if new_secret else None,
        warnings=warnings,
    )


def _prepare_folder(settings: PushSettings, warnings: list[str]) -> tuple[ExecutorFolder, str | None]:
    """Load and check the folder; render the template when it brings no Dockerfile."""
    folder = load_executor_folder(settings.path, settings.dockerfile)
    if folder.dockerfile is None:
        check_requirement_vars(folder, settings.build_env)
        return folder, render_dockerfile(folder, settings.effective_base_image, sorted(settings.build_env))
    if settings.base_image_flag:
        warnings.append(f"--base-image is ignored: {folder.dockerfile_in_context} in the folder chooses its own base image.")
    return folder, None


def _build(
    builder: DockerBuilder,
    settings: PushSettings,
    folder: ExecutorFolder,
    rendered: str | None,
    never_sent: list[Path],
    image: str,
    name: str,
    repository: str,
    tags: list[str],
    reporter: Reporter,
) -> None:
    """Build once, tag the image locally under every tag of the push."""
    with BuildContext(folder, rendered, never_sent) as context:
        image_id = builder.build(
            BuildRequest(
                context=context.chunks(),
                dockerfile=folder.dockerfile_in_context or RENDERED_DOCKERFILE,
                tag=f"{image}:{tags[0]}",
                labels=image_labels(folder, name, repository, content_timestamp(folder.path, context.files)),
                buildargs=settings.build_env,
                nocache=settings.no_cache,
                platform=settings.platform,
            ),
            on_log=reporter.log,
        )
    for tag in tags[1:]:
        builder.tag(image_id, image, tag)


def _updated_metadata(current: ExecutorMetadata, folder: ExecutorFolder, decision: PushDecision) -> ExecutorMetadata:
    current.visibility = decision.visibility
    current.protected_tags = decision.protected_tags
    current.description = folder.description or current.description
    return current


def _digest_of(registry: RegistryClient, repository: str, tag: str) -> str | None:
    manifest = registry.get_manifest(repository, tag)
    return manifest.digest if manifest else None


def _explain_failed_push(
    exc: HubpushError,
    store: MetadataStore,
    registry: RegistryClient,
    secret_store: SecretStore,
    previous: ExecutorMetadata | None,
    name: str,
    repository: str,
    decision: PushDecision,
    first_tag_before: str | None,
) -> None:
    """After the intent was written, a push failed. If no tag moved, put the metadata back
    as it was (the registry is then unchanged); otherwise say how to finish the job."""
    try:
        if _digest_of(registry, repository, decision.tags[0]) != first_tag_before:
            undone = False  # a tag moved: the intent (protected tags!) must stay
        elif previous is not None:
            store.write(previous)
            undone = True
        else:
            undone = store.delete(repository)
    except HubpushError:
        undone = False  # the registry is gone too: leave the intent, it errs on the safe side
    _say_what_remains(exc, undone, decision.is_first_publish, name, registry.location, repository, secret_store, "registry's")


def _say_what_remains(
    exc: HubpushError,
    undone: bool,
    first_publish: bool,
    name: str,
    location: str,
    repository: str,
    secret_store: SecretStore,
    whose: str,
) -> None:
    """End a failed push's sentence with where things stand: metadata put back (a first publish's
    secret then guards nothing and is forgotten), or the NAME kept reserved for this machine."""
    if undone:
        if first_publish:
            secret_store.forget(location, repository)
        exc.message += f" No tag was pushed and the {whose} metadata is back as it was."
    elif first_publish:
        exc.message += (
            f" The name {name!r} is reserved for you: retry with 'hubpush push --force-update {name} PATH' "
            f"on this machine (its secret is cached in {secret_store.path})."
        )
    exc.args = (exc.message,)


def _write_intent(store: MetadataStore, metadata: ExecutorMetadata) -> None:
    """Write the intent and read it back.

    Registries have no compare-and-swap for manifests, so reading our own write back is
    how a concurrent push of the same executor is noticed before any tag moves.
    """
    store.write(metadata)
    stored = store.read(metadata.repository)
    if stored is None or stored.secret_hash != metadata.secret_hash or not set(metadata.protected_tags) <= set(stored.protected_tags):
        raise ConcurrentPushError(
            f"Another push changed executor {metadata.name!r} at the same moment; nothing was pushed, run the command again."
        )


def _write_result(store: MetadataStore, metadata: ExecutorMetadata, tags: list[str], digest: str) -> ExecutorMetadata:
    """Record the pushed tags on top of whatever a concurrent push recorded meanwhile."""
    latest = store.read(metadata.repository)
    if latest is not None and latest.secret_hash != metadata.secret_hash:
        # never take the NAME from whoever claimed it meanwhile
        raise ConcurrentPushError(
            f"Another push claimed executor {metadata.name!r} while this one ran; its metadata was kept, "
            "check 'hubpush show' before pushing again."
        )
    if latest is not None:
        metadata.absorb(latest)
    metadata.record_push(tags, digest, utc_now())
    store.write(metadata)
    return metadata


def _new_metadata(
    name: str, repository: str, folder: ExecutorFolder, decision: PushDecision, secret_hash: str
) -> ExecutorMetadata:
    now = utc_now()
    return ExecutorMetadata(
        name=name,
        repository=repository,
        visibility=decision.visibility,
        secret_hash=secret_hash,
        created_at=now,
        updated_at=now,
        description=folder.description,
        protected_tags=decision.protected_tags,
    )


def _push_tags(
    builder: DockerBuilder,
    registry: RegistryClient,
    image: str,
    repository: str,
    tags: list[str],
    reporter: Reporter,
    credentials: tuple[str, str] | None = None,
    pushed: list[str] | None = None,
) -> str:
    """Push ``tags`` so that all point at one manifest; return its digest. ``pushed`` collects
    the tags that landed, so a failure half-way can tell which ones were ours."""
    pushed = [] if pushed is None else pushed
    first, *others = tags
    reporter.step(f"Pushing {image}:{first}")
    digest = builder.push(image, first, on_log=reporter.log, credentials=credentials)
    pushed.append(first)
    if not others:
        return digest
    manifest = registry.get_manifest(repository, first)
    if manifest is None or manifest.digest != digest:
        raise PushFailedError(
            f"The registry does not hold {image}:{first} at {digest} right after the push; "
            "another client may be pushing the same tag, retry."
        )
    for tag in others:
        reporter.step(f"Tagging {image}:{tag}")
        registry.put_manifest(repository, tag, manifest.raw, manifest.media_type)
        pushed.append(tag)
    return digest


def _push_through_gateway(
    settings: PushSettings,
    reporter: Reporter,
    secret_store: SecretStore,
    gateway: HubGateway,
    folder: ExecutorFolder,
    rendered: str | None,
    name: str,
    repository: str,
    warnings: list[str],
) -> PushResult:
    """The same order as :func:`push_executor`, with the gateway applying the rules and
    writing the metadata: check, build, record the intent, push with NAME/SECRET.

    The gateway records each tag in the metadata as its manifest lands, so there is no
    final metadata write here, and its per-executor lock decides races: a concurrent push
    of the same new protected tag, or of the same new NAME, loses with a clear refusal.
    """
    registry = gateway.registry
    location = registry.location
    first_publish = not settings.force_update
    secret = settings.secret or (secret_store.get(location, repository) if settings.force_update else None)
    new_secret = generate_secret() if first_publish else None
    body = {
        "name": name,
        "is_update": not first_publish,
        "tags": settings.tags,
        "protected_tags": settings.protected_tags,
        "visibility": settings.visibility.value if settings.visibility else None,
        "description": folder.description,
    }
    publisher_token = os.environ.get(PUBLISHER_TOKEN_ENV)

    # 2. the gateway's rules; every refusal comes back here, before the build
    answer = gateway.begin_push(
        repository, body, name=name, secret=secret or new_secret, publisher_token=publisher_token, dry_run=True
    )
    if answer["name"] != name:
        warnings.append(f"{name!r} is executor {answer['name']!r} (repository {repository}); updating it under that name.")
        name = body["name"] = answer["name"]
    tags: list[str] = answer["tags"]

    # 3. build
    image = f"{location}/{repository}"
    reporter.step(f"Building {image}:{tags[0]} from {folder.path}")
    builder = DockerBuilder()
    _build(builder, settings, folder, rendered, [secret_store.path.parent], image, name, repository, tags, reporter)

    # 4. the intent, recorded by the gateway under the executor's lock
    if new_secret is not None:
        secret = new_secret
        secret_store.put(location, repository, new_secret)  # cached first, so a failed publish can be resumed
    reporter.step("Recording metadata")
    try:
        answer = gateway.begin_push(repository, body, name=name, secret=secret, publisher_token=publisher_token, dry_run=False)
    except HubpushError:
        if new_secret is not None:
            secret_store.forget(location, repository)  # someone else won the NAME: this secret guards nothing
        raise
    if settings.secret and not settings.secret_from_env:
        secret_store.put(location, repository, settings.secret)  # verified by the gateway: remember it here too
    assert secret is not None

    # 5. push with the executor's own credentials
    credentials = (gateway.username(name), secret)
    pusher = RegistryClient(settings.registry, credentials=credentials)
    pushed: list[str] = []
    try:
        digest = _push_tags(builder, pusher, image, repository, tags, reporter, credentials, pushed)
    except HubpushError as exc:
        failed = [tag for tag in tags if tag not in pushed]
        raise _explain_gateway_failure(exc, gateway, repository, name, secret, failed, answer["restore"], first_publish, secret_store) from None
    view = gateway.executor(repository, name, secret)
    return PushResult(
        name=name,
        repository=repository,
        registry=location,
        visibility=Visibility(view["visibility"]),
        tags=tags,
        protected_tags=list(view["protected_tags"]),
        digest=digest,
        image_references=[f"{image}:{tag}" for tag in tags],
        first_publish=first_publish,
        secret=new_secret,
        secret_cache=str(secret_store.path) if new_secret else None,
        warnings=warnings,
    )


def _explain_gateway_failure(
    exc: HubpushError,
    gateway: HubGateway,
    repository: str,
    name: str,
    secret: str,
    failed: list[str],
    restore: dict[str, object],
    first_publish: bool,
    secret_store: SecretStore,
) -> HubpushError:
    """After the intent was recorded, pushing ``failed`` tags failed: a lost race for a protected
    tag says so; otherwise the gateway puts the metadata back if no tag moved, or the NAME stays reserved."""
    try:
        view = gateway.executor(repository, name, secret)
    except HubpushError:
        view = {}
    taken = [tag for tag in failed if tag in view.get("protected_tags", []) and tag in view.get("tags", {})]
    if taken:
        names = ", ".join(repr(t) for t in taken)
        return ProtectedTagError(
            f"Tag {names} of executor {name!r} is protected and was pushed by another push while this one ran; "
            "it cannot be pushed again, push under a new tag instead."
        )
    try:
        restored = gateway.abort_push(repository, restore, name=name, secret=secret)
    except HubpushError:
        restored = False  # the hub is gone too: the intent stays, which errs on the safe side
    _say_what_remains(exc, restored, first_publish, name, gateway.registry.location, repository, secret_store, "hub's")
    return exc
