"""Fakes for the push flow's collaborators: an engine, a registry held in memory, a backend
that records what the flow asked of it. No Docker, no network."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from hubpush.core.metadata import Visibility
from hubpush.core.policy import PushDecision, PushRequest
from hubpush.errors import HubpushError
from hubpush.executor.folder import load_executor_folder
from hubpush.oci.media import Manifest, sha256_digest
from hubpush.publish.flow import PushFlow
from hubpush.publish.plan import PushPlan
from hubpush.publish.ports import Outcome, TagDestination, Undo, Verdict
from hubpush.secret_store import SecretStore

LOCATION = "hub.test:5000"


class MemoryRegistry:
    """The registry API hubpush uses, in memory: manifests by tag and digest, blobs, tag lists."""

    def __init__(self, location: str = LOCATION) -> None:
        self.location = self.host = location
        self.manifests: dict[tuple[str, str], Manifest] = {}
        self.blobs: dict[str, bytes] = {}
        self.writes: list[tuple[str, str]] = []

    def qualified(self, name: str) -> str:
        return name

    def list_tags(self, repository: str) -> list[str] | None:
        tags = [ref for repo, ref in self.manifests if repo == repository and not ref.startswith("sha256:")]
        return tags if any(repo == repository for repo, _ in self.manifests) else None

    def catalog(self) -> list[str]:
        return sorted({repo for repo, _ in self.manifests})

    def get_manifest(self, repository: str, reference: str) -> Manifest | None:
        return self.manifests.get((repository, reference))

    def put_manifest(self, repository: str, reference: str, raw: bytes, media_type: str) -> str:
        manifest = Manifest(raw=raw, media_type=media_type, digest=sha256_digest(raw))
        self.manifests[(repository, reference)] = self.manifests[(repository, manifest.digest)] = manifest
        self.writes.append((repository, reference))
        return manifest.digest

    def delete_manifest(self, repository: str, digest: str) -> bool:
        for key in [key for key, found in self.manifests.items() if key[0] == repository and found.digest == digest]:
            del self.manifests[key]
        return True

    def push_blob(self, repository: str, data: bytes, *, probe: bool = True) -> str:
        self.blobs[sha256_digest(data)] = data
        return sha256_digest(data)

    def get_blob(self, repository: str, digest: str) -> bytes:
        return self.blobs[digest]


class FakeEngine:
    """Builds nothing, but reads the whole context as an engine would; pushes land in ``registry``."""

    def __init__(self, registry: MemoryRegistry, *, fail_push: HubpushError | None = None) -> None:
        self.registry = registry
        self.fail_push = fail_push
        self.calls: list[tuple[object, ...]] = []
        self.context_bytes = 0
        #: the paths in the last build context, read from its tar stream as the engine would
        self.context_names: list[str] = []

    def build(self, request, on_log=None) -> str:
        archive = b"".join(request.context)
        self.context_bytes = len(archive)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            self.context_names = tar.getnames()
        self.calls.append(("build", request.tag, request.labels["io.hubpush.name"]))
        return "sha256:image"

    def tag(self, image_id: str, repository: str, tag: str) -> None:
        self.calls.append(("tag", f"{repository}:{tag}"))

    def push(self, repository: str, tag: str, on_log=None, *, credentials=None, on_wait=None) -> str:
        self.calls.append(("push", f"{repository}:{tag}", credentials))
        if self.fail_push is not None:
            raise self.fail_push
        return self.registry.put_manifest(repository.partition("/")[2], tag, f"image {tag}".encode(), "application/json")


@dataclass
class ScriptedBackend:
    """A backend that allows what it is told to, records each call, and fails where it is told to."""

    registry: MemoryRegistry
    recorded_name: str | None = None
    refuse_check: HubpushError | None = None
    refuse_intent: HubpushError | None = None
    undo_result: Undo = field(default_factory=lambda: Undo(restored=True))
    intent_is_atomic: bool = True
    whose: str = "test's"
    calls: list[str] = field(default_factory=list)
    secrets_seen: list[str | None] = field(default_factory=list)

    def check(self, plan: PushPlan, secret: str | None) -> Verdict:
        self.calls.append("check")
        self.secrets_seen.append(secret)
        if self.refuse_check is not None:
            raise self.refuse_check
        asked = plan.request
        tags = list(dict.fromkeys([*asked.tags, *asked.protected_tags])) or ["latest"]
        decision = PushDecision(not asked.is_update, tags, list(asked.protected_tags), asked.visibility or Visibility.PUBLIC)
        return Verdict(name=self.recorded_name or plan.name, decision=decision)

    def record_intent(self, plan: PushPlan, verdict: Verdict, secret: str) -> None:
        self.calls.append("record_intent")
        self.secrets_seen.append(secret)
        if self.refuse_intent is not None:
            raise self.refuse_intent

    def destination(self, plan: PushPlan, verdict: Verdict, secret: str) -> TagDestination:
        self.calls.append("destination")
        return TagDestination(self.registry, plan.repository, f"{self.registry.location}/{plan.repository}", ("user", secret))

    def finish(self, plan: PushPlan, verdict: Verdict, digest: str) -> None:
        self.calls.append("finish")

    def undo(self, failure: HubpushError, plan: PushPlan, verdict: Verdict, secret: str, pushed: list[str]) -> Undo:
        self.calls.append(f"undo after {pushed}")
        return self.undo_result

    def outcome(self, plan: PushPlan, verdict: Verdict, secret: str) -> Outcome:
        self.calls.append("outcome")
        return Outcome(verdict.decision.visibility, verdict.decision.protected_tags, ["from the backend"])


def executor_folder(tmp_path: Path, name: str = "TagsHasher") -> Path:
    folder = tmp_path / "executor"
    folder.mkdir(parents=True)
    (folder / "config.yml").write_text(f"jtype: {name}\nmetas:\n  name: {name}\n  description: hashes tags\n")
    (folder / "Dockerfile").write_text("FROM scratch\n")
    (folder / "executor.py").write_text("# code\n")
    return folder


def make_plan(tmp_path: Path, *, remember_secret: bool = False, **asked: object) -> PushPlan:
    """A plan for TagsHasher; ``asked`` sets fields of its request (is_update, secret, tags, ...)."""
    folder = load_executor_folder(executor_folder(tmp_path))
    request: dict[str, object] = {"name": "TagsHasher", "is_update": False, "secret": None, "tags": [], "protected_tags": [], "visibility": None}
    request.update(asked)
    return PushPlan(folder, None, PushRequest(**request), "tags-hasher", remember_secret=remember_secret)  # type: ignore[arg-type]


@dataclass
class Rig:
    """One flow with fakes around it."""

    registry: MemoryRegistry
    engine: FakeEngine
    backend: ScriptedBackend
    secrets: SecretStore
    engine_connects: list[int] = field(default_factory=list)

    def flow(self) -> PushFlow:
        def connect() -> FakeEngine:
            self.engine_connects.append(1)
            return self.engine

        return PushFlow(self.backend, connect, self.secrets, Steps())  # type: ignore[arg-type]


class Steps:
    """A reporter that keeps the steps."""

    def __init__(self) -> None:
        self.steps: list[str] = []

    def step(self, message: str) -> None:
        self.steps.append(message)

    def log(self, line: str) -> None:
        pass


def rig(tmp_path: Path, *, fail_push: HubpushError | None = None, config_dir: Path | None = None, **backend: object) -> Rig:
    """``config_dir``: where the secret cache lives (default: beside the executor folder, not in it)."""
    registry = MemoryRegistry()
    secrets = SecretStore(config_dir or tmp_path / "config")
    return Rig(registry, FakeEngine(registry, fail_push=fail_push), ScriptedBackend(registry, **backend), secrets)  # type: ignore[arg-type]
