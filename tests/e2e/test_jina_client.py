"""Jina's own client against the hub, unmodified: ``jina hub push`` (built on the hub), ``jina hub pull``
and Flows with ``jinahub+docker://`` and ``jinahub://``, with only ``JINA_HUBBLE_REGISTRY`` set.

The client runs from the ``jinaai/jina:latest`` image (jina 3.34), with the host's engine socket so
that Flows start executor containers (see ENVIRONMENT.md for the ``--add-host`` it needs)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from tests.conftest import EXAMPLES, remove_local_images, running_gateway, running_registry

JINA_IMAGE = "jinaai/jina:latest"
FLOW = """
import sys
from docarray import DocList
from docarray.documents import TextDoc
from jina import Flow

flow = Flow()
for uses in sys.argv[1:]:
    flow = flow.add(uses=uses)
with flow:
    answer = flow.post("/", inputs=DocList[TextDoc]([TextDoc(text="world")]), return_type=DocList[TextDoc])
    print("ANSWER:", answer[0].text)
"""


@pytest.fixture(scope="module")
def hub(docker_client, tmp_path_factory):
    logs = tmp_path_factory.mktemp("jina-hub")
    with running_registry(docker_client, REGISTRY_STORAGE_DELETE_ENABLED="true") as registry:
        with running_gateway(registry, logs) as gateway:
            yield gateway
        remove_local_images(docker_client, gateway.address)


@pytest.fixture
def folder(tmp_path):
    """``folder(prefix)`` -> (path, NAME): the hello example under a NAME of its own (no Dockerfile)."""

    def make(prefix: str = "JinaExec") -> tuple[Path, str]:
        name = f"{prefix}{uuid.uuid4().hex[:8]}"
        target = tmp_path / name
        shutil.copytree(EXAMPLES / "hello-executor", target)
        for file in ("config.yml", "executor.py"):
            path = target / file
            path.write_text(path.read_text().replace("HelloExecutor", name))
        return target, name

    return make


def jina(hub, *args: str, mount: Path | None = None, docker_config: Path | None = None, python: bool = False) -> subprocess.CompletedProcess:
    """The real ``jina`` CLI (or python3 with ``python=True``) in the jinaai/jina image, pointed at ``hub``."""
    command = ["docker", "run", "--rm", "--network", "host", "--add-host", "host.docker.internal:127.0.0.1"]
    command += ["-v", "/var/run/docker.sock:/var/run/docker.sock", "-e", f"JINA_HUBBLE_REGISTRY={hub.url}/jina", "-e", "COLUMNS=220"]
    if mount is not None:
        command += ["-v", f"{mount}:/work"]
    if docker_config is not None:
        command += ["-v", f"{docker_config}:/root/.docker"]
    command += ["--entrypoint", "python3" if python else "jina", JINA_IMAGE, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


def push(hub, path: Path, *flags: str) -> subprocess.CompletedProcess:
    return jina(hub, "hub", "push", "/work", *flags, mount=path)


def secret_of(done: subprocess.CompletedProcess) -> str:
    found = re.search(r"Secret\s+([A-Za-z0-9_-]{22,})", done.stdout)
    assert found, done.stdout + done.stderr
    return found.group(1)


def flow(hub, tmp_path: Path, *uses: str, docker_config: Path | None = None) -> subprocess.CompletedProcess:
    script = tmp_path / "flow"
    script.mkdir(exist_ok=True)
    (script / "flow.py").write_text(FLOW)
    return jina(hub, "/work/flow.py", *uses, mount=script, docker_config=docker_config, python=True)


def repository(name: str) -> str:
    from hubpush.core.names import repository_for

    return repository_for(name)


def forget_images(docker_client, hub, name: str) -> None:
    """So that pulls and Flows really fetch from the hub, not the engine's copy from the build."""
    prefix = f"{hub.address}/{repository(name)}"
    for image in docker_client.api.images():
        for reference in [*(image.get("RepoTags") or []), *(image.get("RepoDigests") or [])]:
            if reference.startswith(prefix):
                docker_client.images.remove(image["Id"], force=True)
                break


def test_push_without_dockerfile_then_pull_and_run_as_image_and_as_source(hub, folder, docker_client, tmp_path):
    path, name = folder()
    done = push(hub, path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert name in done.stdout and secret_of(done)
    assert f"jinahub+docker://{name}/latest" in done.stdout
    repo = repository(name)
    assert hub.registry.tags(repo) == ["latest"]
    config = hub.registry.image_config(repo, "latest")["config"]
    assert config["Entrypoint"] == ["jina", "executor", "--uses", "config.yml"]
    assert hub.registry.metadata(repo)["visibility"] == "public"
    digest, _ = hub.registry.manifest(repo, "latest")

    forget_images(docker_client, hub, name)
    pulled = jina(hub, "hub", "pull", f"jinahub+docker://{name}/latest")
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert docker_client.images.get(f"{hub.address}/{repo}@{digest}")  # pinned by digest: the very image pushed

    forget_images(docker_client, hub, name)
    as_image = flow(hub, tmp_path, f"jinahub+docker://{name}/latest")
    assert "ANSWER: hello, world" in as_image.stdout, as_image.stdout[-3000:] + as_image.stderr[-3000:]
    as_source = flow(hub, tmp_path, f"jinahub://{name}")
    assert "ANSWER: hello, world" in as_source.stdout, as_source.stdout[-3000:] + as_source.stderr[-3000:]


def test_private_executors_need_their_secret_and_one_access_token_serves_a_flow_of_two(hub, folder, docker_client, tmp_path):
    (first, first_name), (second, second_name) = folder("JinaPrivA"), folder("JinaPrivB")
    secrets = []
    for path in (first, second):
        done = push(hub, path, "--private")
        assert done.returncode == 0, done.stdout + done.stderr
        secrets.append(secret_of(done))
    assert hub.registry.metadata(repository(first_name))["visibility"] == "private"

    anonymous = requests.post(f"{hub.url}/jina/v2/rpc/executor.getPackage", json={"id": first_name, "include": ["code", "docker"]}, timeout=10)
    wrong = requests.post(
        f"{hub.url}/jina/v2/rpc/executor.getPackage", json={"id": first_name, "secret": "x" * 43, "include": ["docker"]}, timeout=10
    )
    missing = requests.post(f"{hub.url}/jina/v2/rpc/executor.getPackage", json={"id": "NoSuchExecutor1", "include": ["docker"]}, timeout=10)
    assert anonymous.status_code == wrong.status_code == missing.status_code != 200
    assert "private" in anonymous.json()["readableMessage"]
    assert anonymous.json()["readableMessage"].replace(first_name, "N") == missing.json()["readableMessage"].replace("NoSuchExecutor1", "N")

    uses = [f"jinahub+docker://{name}:{secret}/latest" for name, secret in zip((first_name, second_name), secrets, strict=True)]
    for name in (first_name, second_name):
        forget_images(docker_client, hub, name)
    without_login = flow(hub, tmp_path, uses[0])
    assert without_login.returncode != 0 and "ANSWER" not in without_login.stdout

    environment = {k: v for k, v in os.environ.items() if not k.startswith("HUBPUSH_")}
    environment["HUBPUSH_CONFIG_DIR"] = str(tmp_path / "hubpush-config")
    made = subprocess.run(
        [sys.executable, "-m", "hubpush", "token", "--registry", hub.address, f"{first_name}:{secrets[0]}", f"{second_name}:{secrets[1]}"],
        capture_output=True, text=True, timeout=60, env=environment,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    config = tmp_path / "docker-config"
    config.mkdir()
    login = subprocess.run(
        ["docker", "login", hub.address, "--username", "token", "--password-stdin"],
        input=made.stdout, capture_output=True, text=True, env={"DOCKER_CONFIG": str(config), "PATH": "/usr/local/bin:/usr/bin:/bin"},
    )  # fmt: skip
    assert login.returncode == 0, login.stderr
    both = flow(hub, tmp_path, *uses, docker_config=config)
    assert "ANSWER: hello, hello, world" in both.stdout, both.stdout[-3000:] + both.stderr[-3000:]


def test_updates_push_exactly_the_tags_named_and_refusals_change_nothing(hub, folder):
    path, name = folder("JinaTags")
    first = push(hub, path)
    assert first.returncode == 0, first.stdout + first.stderr
    secret, repo = secret_of(first), repository(name)
    latest = hub.registry.manifest(repo, "latest")[0]

    (path / "executor.py").write_text((path / "executor.py").read_text() + "\n# changed\n")
    tagged = push(hub, path, "--force-update", name, "--secret", secret, "-t", "v1", "-t", "v2")
    assert tagged.returncode == 0, tagged.stdout + tagged.stderr
    assert hub.registry.tags(repo) == ["latest", "v1", "v2"]
    assert hub.registry.manifest(repo, "latest")[0] == latest  # not named: not moved
    assert hub.registry.manifest(repo, "v1")[0] == hub.registry.manifest(repo, "v2")[0] != latest

    protected = push(hub, path, "--force-update", name, "--secret", secret, "-t", "stable", "--protected-tag", "stable")
    assert protected.returncode == 0, protected.stdout + protected.stderr
    assert "stable" in hub.registry.metadata(repo)["protected_tags"]
    before = hub.registry.snapshot()

    again = push(hub, path, "--force-update", name, "--secret", secret, "-t", "stable", "--protected-tag", "stable")
    assert again.returncode != 0 and "protected" in again.stdout + again.stderr
    wrong = push(hub, path, "--force-update", name, "--secret", "y" * 43, "-t", "v3")
    assert wrong.returncode != 0 and "secret" in (wrong.stdout + wrong.stderr).lower()
    taken = push(hub, path)  # no --secret: the client sends a plain push of metas.name
    assert taken.returncode != 0 and "--secret" in taken.stdout + taken.stderr and "already exists" in taken.stdout + taken.stderr
    no_secret = push(hub, path, "--force-update", name)
    assert no_secret.returncode != 0 and "--secret" in no_secret.stdout + no_secret.stderr
    assert hub.registry.snapshot() == before


def test_a_failing_build_shows_the_failing_step_and_publishes_nothing(hub, tmp_path):
    name = f"JinaBroken{uuid.uuid4().hex[:8]}"
    path = tmp_path / name
    path.mkdir()
    (path / "config.yml").write_text(f"jtype: {name}\npy_modules:\n  - executor.py\nmetas:\n  name: {name}\n")
    (path / "executor.py").write_text("# nothing\n")
    (path / "Dockerfile").write_text("FROM hubpush/busybox:latest\nRUN echo about-to-fail && exit 3\n")
    done = push(hub, path)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "exit 3" in output and "returned a non-zero code: 3" in output, output[-3000:]
    assert hub.registry.tags(repository(name)) is None
