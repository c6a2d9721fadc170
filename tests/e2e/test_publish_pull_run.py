"""End to end, as a user does it: publish the examples with the CLI on the default jina
base image, delete them from the engine, `docker pull` them back, run them, and talk to
the served executor with a real Jina client."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from tests.conftest import EXAMPLES

JINA_BASE = {"HUBPUSH_BASE_IMAGE": "jinaai/jina:latest"}
CLIENT = """
from jina import Client
from docarray import DocList
from docarray.documents import TextDoc
docs = Client(host="localhost", port=8080).post("/", inputs=DocList[TextDoc]([TextDoc(text="world")]), return_type=DocList[TextDoc])
print(docs[0].text)
"""


def docker(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


@pytest.fixture
def run_executor():
    started: list[str] = []

    def run(reference: str) -> str:
        container = docker("run", "-d", reference, "--port", "8080").stdout.strip()
        started.append(container)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if docker("exec", container, "jina", "ping", "executor", "localhost:8080", "--attempts", "1", check=False).returncode == 0:
                return container
            if docker("inspect", "-f", "{{.State.Running}}", container).stdout.strip() != "true":
                pytest.fail("executor container exited:\n" + docker("logs", container, check=False).stderr[-3000:])
            time.sleep(1)
        pytest.fail("executor never answered jina ping:\n" + docker("logs", container, check=False).stderr[-3000:])

    yield run
    for container in started:
        docker("rm", "-f", container, check=False)


def ask(container: str) -> str:
    return docker("exec", container, "python3", "-c", CLIENT).stdout.strip()


def pull_fresh(reference: str) -> None:
    docker("rmi", "-f", reference, check=False)
    assert docker("image", "inspect", reference, check=False).returncode != 0
    docker("pull", reference)


def test_example_without_dockerfile_is_published_pulled_and_serves(hubpush, registry, run_executor):
    result = hubpush("push", "--json", EXAMPLES / "hello-executor", env=JINA_BASE)
    assert result.exit_code == 0, result.stderr
    out = result.json
    assert out["name"] == "HelloExecutor" and out["repository"] == f"{registry.address}/hello-executor"
    reference = out["image_references"][0]
    pull_fresh(reference)
    container = run_executor(reference)
    assert ask(container) == "hello, world"


def test_example_with_its_own_dockerfile_and_protected_tag(hubpush, registry, run_executor):
    result = hubpush("push", "--json", EXAMPLES / "custom-dockerfile-executor", "-t", "v1", "--protected-tag", "1.0.0", env=JINA_BASE)
    assert result.exit_code == 0, result.stderr
    out = result.json
    assert registry.tags("shout-executor") == ["1.0.0", "v1"]
    reference = f"{registry.address}/shout-executor:1.0.0"
    pull_fresh(reference)
    container = run_executor(reference)
    assert ask(container) == "WORLD"
    again = hubpush("push", EXAMPLES / "custom-dockerfile-executor", "--force-update", "ShoutExecutor", "-t", "1.0.0", env=JINA_BASE)
    assert again.exit_code == 24
    assert registry.manifest("shout-executor", "1.0.0")[0] == out["digest"]


def test_requirements_variables_are_filled_from_build_env_by_pip(hubpush, registry, tmp_path):
    folder = tmp_path / "templated"
    shutil.copytree(EXAMPLES / "hello-executor", folder)
    (folder / "config.yml").write_text((folder / "config.yml").read_text().replace("name: HelloExecutor", "name: TemplatedHello"))
    (folder / "requirements.txt").write_text("jina==${JINA_VERSION}\n")
    # --no-cache: the pip step must really run, not come from an earlier build's layer cache
    result = hubpush("push", "--verbose", "--no-cache", folder, "--build-env", "JINA_VERSION=3.34.0", env=JINA_BASE)
    assert result.exit_code == 0, result.stderr
    assert "Using cache" not in result.stderr
    assert "Requirement already satisfied: jina==3.34.0" in result.stderr
    assert registry.tags("templated-hello") == ["latest"]


def test_private_example_through_the_hub_is_refused_anonymously_then_pulled_with_its_secret(
    hubpush, gateway, run_executor, tmp_path
):
    folder = tmp_path / "private-hello"
    shutil.copytree(EXAMPLES / "hello-executor", folder)
    (folder / "config.yml").write_text((folder / "config.yml").read_text().replace("name: HelloExecutor", "name: PrivateHello"))
    env = {**JINA_BASE, "HUBPUSH_REGISTRY": gateway.address}
    published = hubpush("push", "--json", "--private", folder, env=env)
    assert published.exit_code == 0, published.stderr
    out = published.json
    reference = out["image_references"][0]
    docker("rmi", "-f", reference, check=False)

    anonymous = subprocess.run(
        ["docker", "pull", reference], capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "DOCKER_CONFIG": str(tmp_path / "no-login")},
    )  # fmt: skip
    assert anonymous.returncode != 0 and "unauthorized" in anonymous.stderr.lower(), anonymous.stderr
    assert docker("image", "inspect", reference, check=False).returncode != 0

    elsewhere = {**env, "HUBPUSH_CONFIG_DIR": str(tmp_path / "another-machine")}
    pulled = hubpush("pull", out["name"], "--secret", out["secret"], env=elsewhere)
    assert pulled.exit_code == 0, pulled.stderr
    container = run_executor(reference)
    assert ask(container) == "hello, world"
