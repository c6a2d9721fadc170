"""Faults with the real CLI, a real registry:2 and a real gateway: each is followed by a check that
nothing is lost (``hubpush hub check`` and the registry's API) and that the next push works.

Each test has a registry container of its own on a fixed host port, so it can be stopped, paused
and started again without losing its address (the gateway keeps pointing at it). The shared Docker
engine is never stopped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import requests

from hubpush.core.names import repository_for
from tests.conftest import TEST_BASE_IMAGE, CliResult, Registry, free_port, remove_local_images, run_cli, running_gateway, unique_name

pytestmark = [pytest.mark.integration, pytest.mark.faults]


class _Wrapped:
    """What :class:`tests.conftest.Registry` needs of a testcontainers container: the docker-py one."""

    def __init__(self, container) -> None:
        self.container = container

    def get_wrapped_container(self):
        return self.container


@contextmanager
def own_registry(docker_client, **run: object) -> Iterator[Registry]:
    """registry:2 on a fixed localhost port (it survives a stop and a start), deletes enabled."""
    port = free_port()
    container = docker_client.containers.run(
        "registry:2", detach=True, ports={"5000/tcp": ("127.0.0.1", port)},
        environment={"REGISTRY_STORAGE_DELETE_ENABLED": "true"}, **run,
    )  # fmt: skip
    registry = Registry(f"localhost:{port}", _Wrapped(container))
    try:
        wait_answers(registry)
        yield registry
    finally:
        container.remove(force=True)
        remove_local_images(docker_client, registry.address)


def wait_answers(registry: Registry, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{registry.url}/v2/", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError("the registry did not come up")


class Publisher:
    """The real CLI as one user on this machine: a config folder, folders of executors."""

    def __init__(self, home: Path, address: str) -> None:
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HUBPUSH_")}
        self.env.update(HOME=str(home), HUBPUSH_CONFIG_DIR=str(home / "config"), HUBPUSH_REGISTRY=address, HUBPUSH_BASE_IMAGE=TEST_BASE_IMAGE)

    def folder(self, megabytes: int = 0) -> tuple[Path, str]:
        name = unique_name("Fault")
        folder = self.home / name
        folder.mkdir()
        (folder / "config.yml").write_text(f"jtype: {name}\nmetas:\n  name: {name}\n")
        if megabytes:  # random bytes: a layer that takes a while to upload and does not compress
            (folder / "weights.bin").write_bytes(os.urandom(megabytes << 20))
        return folder, name

    def run(self, *args: object, timeout: float = 180, **env: str) -> CliResult:
        return run_cli({**self.env, **env}, *args, timeout=timeout)

    def start(self, *args: object) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "hubpush", *map(str, args)], env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def push_ok(self, *args: object) -> dict:
        result = self.run("push", "--json", *args)
        assert result.exit_code == 0, result.stderr + result.stdout
        return result.json

    def check(self, registry: Registry, *args: str) -> CliResult:
        result = self.run("hub", "check", "--registry", registry.address, "--json", *args, timeout=60)
        assert "Traceback" not in result.stdout + result.stderr
        return result


def no_traceback(result: CliResult) -> None:
    assert "Traceback" not in result.stdout + result.stderr


def wait_for_log(log: Path, text: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text():
            return
        time.sleep(0.02)
    raise AssertionError(f"{text!r} never appeared in {log}")


def nothing_lost_and_next_push_works(user: Publisher, registry: Registry, folder: Path, name: str) -> None:
    """After the fault: the check settles what the failed push left, the images are untouched, and a push works."""
    before = {repo: tags for repo, tags in registry.snapshot().items() if not repo.startswith("hubpush-meta/")}
    repaired = user.check(registry, "--repair")
    assert repaired.exit_code == 0, repaired.stdout
    after = {repo: tags for repo, tags in registry.snapshot().items() if not repo.startswith("hubpush-meta/")}
    assert after == before  # a repair never touches an image
    again = user.push_ok("--force-update", name, folder, "--tag", "after")
    assert registry.manifest(repository_for(name), "after")[0] == again["digest"]
    assert user.check(registry).exit_code == 0


def test_the_registry_stopped_mid_upload_through_the_hub_then_started(docker_client, tmp_path):
    with own_registry(docker_client) as registry, running_gateway(registry, tmp_path) as hub:
        user = Publisher(tmp_path, hub.address)
        user.push_ok(user.folder()[0])  # the base layers are in the registry: what follows uploads the big one
        folder, name = user.folder(megabytes=48)
        started = time.monotonic()
        push = user.start("push", folder, "--tag", "v1", "--protected-tag", "v1")
        wait_for_log(hub.log, f"POST /v2/{repository_for(name)}/blobs/uploads/")
        registry.container.container.stop(timeout=0)
        time.sleep(3)
        registry.container.container.start()
        wait_answers(registry)
        out, err = push.communicate(timeout=180)

        assert "Traceback" not in out + err
        assert err.count("the engine is retrying") <= 8, err  # one line per few seconds, not one per layer per second
        if push.returncode == 0:  # the engine's retries reached the registry again
            assert registry.metadata(repository_for(name))["tags"]["v1"]
        else:
            assert "Error:" in err and ("intent" in err or "back as it was" in err or "reserved" in err), err
        assert time.monotonic() - started < 150
        nothing_lost_and_next_push_works(user, registry, folder, name)


@pytest.mark.parametrize("fault", ["stopped", "paused"])
def test_the_registry_down_or_hung_during_the_check_is_exit_30_naming_the_registry_behind_the_hub(docker_client, tmp_path, fault):
    """Stopped: a refusal at once. Paused (a hang, not a refusal): the hub gives up on its registry
    (15 s) before the CLI gives up on the hub (30 s), so the sentence still names the right component."""
    with own_registry(docker_client) as registry, running_gateway(registry, tmp_path) as hub:
        user = Publisher(tmp_path, hub.address)
        folder, name = user.folder()
        user.push_ok(folder)
        container = registry.container.container
        container.stop(timeout=0) if fault == "stopped" else container.pause()
        try:
            started = time.monotonic()
            result = user.run("push", "--force-update", name, folder, "--tag", "v2")
            waited = time.monotonic() - started
        finally:
            container.start() if fault == "stopped" else container.unpause()
        wait_answers(registry)

        no_traceback(result)
        assert result.exit_code == 30, result.stderr
        assert "registry behind the hub" in result.stderr
        assert waited < 40
        assert registry.tags(repository_for(name)) == ["latest"]
        nothing_lost_and_next_push_works(user, registry, folder, name)


def test_a_stalled_answer_is_given_up_after_the_configured_wait(docker_client, tmp_path):
    with own_registry(docker_client) as registry:
        user = Publisher(tmp_path, registry.address)
        folder, name = user.folder()
        user.push_ok(folder)
        registry.container.container.pause()
        try:
            started = time.monotonic()
            result = user.run("show", name, HUBPUSH_TIMEOUT_SECONDS="2")
            waited = time.monotonic() - started
        finally:
            registry.container.container.unpause()

        no_traceback(result)
        assert result.exit_code == 30, result.stderr
        assert "did not answer within 2 s (HUBPUSH_TIMEOUT_SECONDS)" in result.stderr
        assert waited < 15
        nothing_lost_and_next_push_works(user, registry, folder, name)


def test_the_docker_engine_unreachable_writes_nothing(docker_client, tmp_path):
    with own_registry(docker_client) as registry:
        user = Publisher(tmp_path, registry.address)
        folder, _ = user.folder()
        before = registry.snapshot()

        result = user.run("push", folder, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock")

        no_traceback(result)
        assert result.exit_code == 32, result.stderr
        assert registry.snapshot() == before
        assert user.check(registry).exit_code == 0
        user.push_ok(folder)


def test_the_registry_disk_full_fails_with_a_sentence_and_loses_nothing(docker_client, tmp_path):
    with own_registry(docker_client, tmpfs={"/var/lib/registry": "size=24m"}) as registry:
        user = Publisher(tmp_path, registry.address)
        small, small_name = user.folder()
        user.push_ok(small)
        big, _ = user.folder(megabytes=40)

        result = user.run("push", big)

        no_traceback(result)
        assert result.exit_code in (34, 31), result.stderr
        assert "Error:" in result.stderr and "back as it was" in result.stderr
        report = user.check(registry).json
        # what the failed push left is only ever a repairable record, never a lost executor
        assert all(f["repairable"] or f["kind"] == "name-reserved" for f in report["remaining"]), report
        assert registry.tags(repository_for(small_name)) == ["latest"]


def test_the_gateway_killed_mid_push_then_restarted(docker_client, tmp_path):
    key = uuid.uuid4().hex * 2  # replicas and restarts share the token key
    with own_registry(docker_client) as registry:
        with running_gateway(registry, tmp_path, token_key=key) as hub:
            user = Publisher(tmp_path, hub.address)
            user.push_ok(user.folder()[0])
            folder, name = user.folder(megabytes=48)
            push = user.start("push", folder, "--tag", "v1", "--protected-tag", "v1")
            wait_for_log(hub.log, f"POST /v2/{repository_for(name)}/blobs/uploads/")
            hub.process.send_signal(signal.SIGKILL)
            hub.process.wait(timeout=10)
            time.sleep(2)
            with running_gateway(registry, tmp_path, token_key=key, port=int(hub.address.rpartition(":")[2])):
                out, err = push.communicate(timeout=180)

                assert "Traceback" not in out + err
                if push.returncode != 0:
                    assert "Error:" in err and ("intent" in err or "back as it was" in err or "reserved" in err), err
                nothing_lost_and_next_push_works(user, registry, folder, name)


class Relay:
    """Accepts connections on ``listener`` and pumps bytes both ways to what ``connect()`` opens."""

    def __init__(self, listener: socket.socket, connect) -> None:
        self.listener, self.connect = listener, connect
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = self.connect()
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)

    def close(self) -> None:
        self.listener.close()


class ThrottlingProxy(Relay):
    """A TCP proxy that forwards at most ``rate`` bytes per second each way: a slow link."""

    def __init__(self, target: tuple[str, int], rate: int) -> None:
        self.rate = rate
        listener = socket.create_server(("127.0.0.1", 0))
        self.port = listener.getsockname()[1]
        super().__init__(listener, lambda: socket.create_connection(target))

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        chunk = max(self.rate // 20, 1)
        with suppress(OSError):
            while data := source.recv(chunk):
                sink.sendall(data)
                time.sleep(len(data) / self.rate)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def test_a_slow_link_is_slow_but_never_stalled(docker_client, tmp_path):
    with own_registry(docker_client) as registry:
        proxy = ThrottlingProxy(("127.0.0.1", int(registry.address.rpartition(":")[2])), rate=2 << 20)
        try:
            user = Publisher(tmp_path, f"localhost:{proxy.port}")
            folder, name = user.folder(megabytes=8)
            started = time.monotonic()
            # the layer takes about 4 s at 2 MiB/s: progress keeps coming, so a 3 s stall limit is never hit
            result = user.run("push", "--json", folder, HUBPUSH_PUSH_STALL_SECONDS="3")
            took = time.monotonic() - started
        finally:
            proxy.close()

        assert result.exit_code == 0, result.stderr + result.stdout
        assert took >= 4  # it really went through the slow link
        assert registry.manifest(repository_for(name), "latest")[0] == result.json["digest"]
        assert Publisher(tmp_path, registry.address).check(registry).exit_code == 0


class EngineSocketProxy(Relay):
    """A unix socket in front of the engine's, that can die: what the CLI sees when the engine goes away
    mid-build (the shared engine itself is never stopped). ``build_started`` is set once a build request passed."""

    def __init__(self, path: Path, engine: str = "/var/run/docker.sock") -> None:
        self.path = path
        self.build_started = threading.Event()
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(path))
        listener.listen()

        def connect() -> socket.socket:
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(engine)
            return upstream

        super().__init__(listener, connect)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                if b"/build?" in data[:200]:
                    self.build_started.set()
                sink.sendall(data)

    def die(self) -> None:
        self.close()
        for each in self.sockets:
            with suppress(OSError):
                each.shutdown(socket.SHUT_RDWR)
            each.close()


def test_the_docker_engine_lost_during_a_build_writes_nothing_and_the_next_push_works(docker_client, tmp_path):
    with own_registry(docker_client) as registry, running_gateway(registry, tmp_path) as hub:
        user = Publisher(tmp_path, hub.address)
        folder, name = user.folder()
        (folder / "Dockerfile").write_text(f"FROM {TEST_BASE_IMAGE}\nRUN echo started && sleep 15\n")
        before = registry.snapshot()
        proxy = EngineSocketProxy(tmp_path / "engine.sock")
        push = subprocess.Popen(
            [sys.executable, "-m", "hubpush", "push", "--no-cache", str(folder)],
            env={**user.env, "DOCKER_HOST": f"unix://{proxy.path}"}, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert proxy.build_started.wait(60), "the build never started"
        time.sleep(1)
        proxy.die()
        out, err = push.communicate(timeout=120)

        assert "Traceback" not in out + err
        assert push.returncode == 32, err
        assert "Lost the Docker engine during the build" in err
        assert registry.snapshot() == before  # the intent comes after the build: nothing was written
        assert user.check(registry).exit_code == 0
        (folder / "Dockerfile").write_text(f"FROM {TEST_BASE_IMAGE}\nRUN echo quick\n")
        assert user.push_ok(folder)["name"] == name
