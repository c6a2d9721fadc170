"""Shared fixtures: a real Docker engine, a real registry:2 (testcontainers), the real CLI.

Integration and e2e tests never mock the engine or the registry; they check outcomes
with real clients (the registry HTTP API, ``docker pull``, ``docker run``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from hypothesis import settings

# property tests keep their random exploration, but never fail for being slow on a loaded 2-core CI machine
settings.register_profile("hubpush", deadline=None, print_blob=True)
settings.load_profile("hubpush")

# Ryuk (the reaper image) cannot be pulled on air-gapped machines, and the engine only
# pushes over plain HTTP to loopback addresses: see shared/ENVIRONMENT.md.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_HOST_OVERRIDE", "localhost")
# this sandbox looks like a container to testcontainers; the engine is local all the same
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = REPO_ROOT / "examples"
#: tiny base image built by scripts/bootstrap.sh (busybox on scratch): fast builds and pushes
TEST_BASE_IMAGE = os.environ.get("HUBPUSH_TEST_BASE_IMAGE", "hubpush/busybox:latest")
MANIFEST_ACCEPT = ", ".join([
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])  # fmt: skip


@pytest.fixture(scope="session")
def docker_client():
    import docker

    try:
        client = docker.from_env(version="auto")
        client.ping()
    except Exception as exc:
        pytest.fail(f"integration tests need a Docker engine (run scripts/test.sh, which starts one): {exc}")
    return client


@dataclass
class Registry:
    """A running registry:2 container and plain-HTTP access to its API."""

    address: str
    container: object

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def tags(self, repository: str) -> list[str] | None:
        response = requests.get(f"{self.url}/v2/{repository}/tags/list", timeout=10)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return sorted(response.json().get("tags") or [])

    def manifest(self, repository: str, reference: str) -> tuple[str, dict] | None:
        response = requests.get(
            f"{self.url}/v2/{repository}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT}, timeout=10
        )
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.headers["Docker-Content-Digest"], response.json()

    def blob(self, repository: str, digest: str) -> bytes:
        response = requests.get(f"{self.url}/v2/{repository}/blobs/{digest}", timeout=30)
        response.raise_for_status()
        return response.content

    def image_config(self, repository: str, reference: str) -> dict:
        _, manifest = self.manifest(repository, reference)
        return json.loads(self.blob(repository, manifest["config"]["digest"]))

    def metadata(self, repository: str) -> dict | None:
        return self.metadata_at(f"hubpush-meta/{repository}")

    def metadata_at(self, meta_repository: str) -> dict | None:
        found = self.manifest(meta_repository, "current")
        if found is None:
            return None
        return json.loads(self.blob(meta_repository, found[1]["config"]["digest"]))

    def snapshot(self) -> dict[str, dict[str, str]]:
        """Every repository, tag and manifest digest: compare two to prove nothing changed."""
        catalog = requests.get(f"{self.url}/v2/_catalog?n=10000", timeout=10).json().get("repositories") or []
        state: dict[str, dict[str, str]] = {}
        for repository in catalog:
            state[repository] = {tag: self.manifest(repository, tag)[0] for tag in self.tags(repository) or []}
        return state

    def logs(self) -> str:
        return self.container.get_wrapped_container().logs().decode("utf-8", "replace")


def remove_local_images(docker_client, address: str) -> None:
    """Images the tests built and pulled for one registry would otherwise pile up in the engine."""
    import docker.errors

    # the raw listing: images.list() inspects each image, which races with anyone else removing images
    for image in docker_client.api.images():
        for tag in image.get("RepoTags") or []:
            if tag.startswith(f"{address}/"):
                with suppress(docker.errors.NotFound):
                    docker_client.images.remove(tag, force=True)


@contextmanager
def running_registry(docker_client, **env: str) -> Iterator[Registry]:
    """A registry:2 container for the duration of the block; its images leave the engine after."""
    from testcontainers.community.registry import DockerRegistryContainer

    container = DockerRegistryContainer(image="registry:2")
    for key, value in env.items():
        container.with_env(key, value)
    container.start()
    address = container.get_registry()
    try:
        yield Registry(address, container)
    finally:
        container.stop()
        remove_local_images(docker_client, address)


@pytest.fixture(scope="session")
def registry(docker_client):
    """One registry for the session; tests use unique executor names so they never collide."""
    with running_registry(docker_client) as started:
        yield started


@pytest.fixture
def fresh_registry(docker_client):
    """A registry of this test's own, for tests that read its request log."""
    with running_registry(docker_client) as started:
        yield started


@dataclass
class Gateway:
    """A running ``hubpush hub serve`` process in front of ``registry`` (which tests read directly)."""

    address: str
    registry: Registry
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def memory_kib(self, field: str = "VmHWM") -> int:
        """From /proc: VmHWM is the peak resident set size since start, VmRSS the current one."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
        raise AssertionError(f"no {field} for the gateway process")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_gateway(
    registry: Registry,
    log_dir: Path,
    *extra_args: str,
    token_key: str | None = None,
    port: int | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Gateway]:
    """``python -m hubpush hub serve`` on ``port`` (default: a free one) in front of ``registry``, until the block ends."""
    port = port or free_port()
    log = log_dir / f"gateway-{port}-{uuid.uuid4().hex[:6]}.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HUBPUSH_")}
    environment["HUBPUSH_GATEWAY_TOKEN_KEY"] = token_key or uuid.uuid4().hex + uuid.uuid4().hex
    # tests of other rules send many wrong secrets from one address within a minute; the limits on
    # failed checks are tested with their shipped defaults in tests/integration/gateway/test_floods.py
    environment["HUBPUSH_GATEWAY_ADDRESS_FAILURES"] = environment["HUBPUSH_GATEWAY_NAME_FAILURES"] = "100000"
    environment.update(env or {})
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "hubpush", "hub", "serve", "--upstream", registry.url, "--listen", f"127.0.0.1:{port}", *extra_args],
            stdout=sink, stderr=subprocess.STDOUT, env=environment, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    gateway = Gateway(f"localhost:{port}", registry, process, log)
    try:
        for _ in range(100):
            try:
                if requests.get(f"{gateway.url}/hubpush/v1/info", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, log.read_text()
            time.sleep(0.1)
        else:
            raise AssertionError(f"the gateway did not start: {log.read_text()}")
        yield gateway
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def gateway(docker_client, tmp_path_factory):
    """One hub for the session: its own registry:2 with deletes enabled, and a gateway in front."""
    with running_registry(docker_client, REGISTRY_STORAGE_DELETE_ENABLED="true") as behind:
        with running_gateway(behind, tmp_path_factory.mktemp("gateway")) as started:
            try:
                yield started
            finally:
                remove_local_images(docker_client, started.address)


def unique_name(prefix: str = "Exec") -> str:
    """CamelCase like real executors, so the NAME -> repository mapping is exercised."""
    return f"{prefix}{uuid.uuid4().hex[:8].capitalize()}"


@pytest.fixture
def make_executor(tmp_path):
    """Create an executor folder: ``make_executor(files={...}, name=...)`` -> (path, NAME)."""

    counter = iter(range(1000))

    def make(files: dict[str, str] | None = None, name: str | None = None, config: str | None = None) -> tuple[Path, str]:
        name = name or unique_name()
        folder = tmp_path / f"executor-{next(counter)}"
        folder.mkdir()
        default_config = f"jtype: {name}\npy_modules:\n  - executor.py\nmetas:\n  name: {name}\n  description: test executor\n  version: 0.0.1\n"
        contents = {"config.yml": config if config is not None else default_config, "executor.py": "# code\n"}
        contents.update(files or {})
        for rel, text in contents.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        return folder, name

    return make


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict:
        return json.loads(self.stdout)


@pytest.fixture
def hubpush_env(tmp_path, registry):
    """Environment for CLI runs: this test's own secret cache, the session registry, tiny base image."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBPUSH_")}
    env.update(
        HUBPUSH_CONFIG_DIR=str(tmp_path / "hubpush-config"),
        HUBPUSH_REGISTRY=registry.address,
        HUBPUSH_BASE_IMAGE=TEST_BASE_IMAGE,
        COLUMNS="200",
    )
    return env


def run_cli(environment: dict[str, str], *args: object, timeout: float = 600) -> CliResult:
    """The real CLI in a subprocess, with exactly ``environment``."""
    completed = subprocess.run(
        [sys.executable, "-m", "hubpush", *map(str, args)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture
def hubpush(hubpush_env):
    """Run the real CLI in a subprocess, as a user does: ``hubpush("push", path, env={...})``."""

    def run(*args: object, env: dict[str, str] | None = None, timeout: float = 600) -> CliResult:
        return run_cli({**hubpush_env, **(env or {})}, *args, timeout=timeout)

    return run


def push_ok(hubpush, *args: object, env: dict[str, str] | None = None) -> dict:
    """Run ``hubpush push --json ARGS`` that must succeed; return its JSON result."""
    result = hubpush("push", "--json", *args, env=env)
    assert result.exit_code == 0, result.stderr + result.stdout
    return result.json


@pytest.fixture
def refused(hubpush, registry):
    """Run a command that must be refused: its exit code, its sentence, no traceback, registry unchanged."""

    def check(*args: object, code: int, says: str, env: dict[str, str] | None = None) -> CliResult:
        before = registry.snapshot()
        result = hubpush(*args, env=env)
        assert result.exit_code == code, result.stderr + result.stdout
        assert says in result.stderr, result.stderr
        assert "Traceback" not in result.stderr + result.stdout
        assert registry.snapshot() == before
        return result

    return check


def pytest_collection_modifyitems(items):
    """Mark tests by tier from their folder, so `-m "not e2e"` etc. select what one expects."""
    for item in items:
        parts = item.path.parts
        if "integration" in parts:
            item.add_marker(pytest.mark.integration)
        elif "e2e" in parts:
            item.add_marker(pytest.mark.e2e)


def cli_publisher(address: str, home: Path):
    """``publish(*args, files={...}, prefix=...) -> (push JSON, repository)`` with the real CLI against ``address``.

    For module-scoped fixtures, where the function-scoped ``hubpush`` fixture cannot serve."""
    from hubpush.core.names import repository_for

    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBPUSH_")}
    env.update(HUBPUSH_CONFIG_DIR=str(home / "config"), HUBPUSH_REGISTRY=address, HUBPUSH_BASE_IMAGE=TEST_BASE_IMAGE)

    def publish(*args: str, files: dict[str, str] | None = None, prefix: str = "Exec", config: str = "") -> tuple[dict, str]:
        name = unique_name(prefix)
        folder = home / name
        folder.mkdir()
        (folder / "config.yml").write_text(f"jtype: {name}\npy_modules:\n  - executor.py\nmetas:\n  name: {name}\n{config}")
        (folder / "executor.py").write_text(f"# {name}\n")
        for relative, text in (files or {}).items():
            (folder / relative).write_text(text)
        done = subprocess.run(
            [sys.executable, "-m", "hubpush", "push", "--json", str(folder), *args], env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr + done.stdout
        return json.loads(done.stdout), repository_for(name)

    return publish
