"""Registries that need credentials: hubpush uses what `docker login` stored, like docker does."""

from __future__ import annotations

import subprocess

import pytest
import requests
from testcontainers.community.registry import DockerRegistryContainer

from hubpush.core.names import repository_for


@pytest.fixture
def auth_registry(docker_client):
    container = DockerRegistryContainer(image="registry:2", username="publisher", password="registry-password")
    container.start()
    try:
        yield container.get_registry()
    finally:
        container.stop()


def test_push_uses_docker_login_credentials_and_refuses_clearly_without(hubpush, make_executor, auth_registry, tmp_path):
    folder, name = make_executor()
    anonymous = hubpush("push", folder, env={"HUBPUSH_REGISTRY": auth_registry, "DOCKER_CONFIG": str(tmp_path / "empty")})
    assert anonymous.exit_code == 36, anonymous.stderr
    assert f"docker login {auth_registry}" in anonymous.stderr

    config = tmp_path / "docker-config"
    subprocess.run(
        ["docker", "--config", str(config), "login", auth_registry, "-u", "publisher", "--password-stdin"],
        input="registry-password", text=True, capture_output=True, check=True,
    )  # fmt: skip
    result = hubpush("push", "--json", folder, "-t", "v1", "-t", "v2", env={"HUBPUSH_REGISTRY": auth_registry, "DOCKER_CONFIG": str(config)})
    assert result.exit_code == 0, result.stderr
    tags = requests.get(
        f"http://{auth_registry}/v2/{repository_for(name)}/tags/list", auth=("publisher", "registry-password"), timeout=10
    ).json()["tags"]
    assert sorted(tags) == ["v1", "v2"]
    meta = requests.get(
        f"http://{auth_registry}/v2/hubpush-meta/{repository_for(name)}/tags/list", auth=("publisher", "registry-password"), timeout=10
    )
    assert meta.json()["tags"] == ["current"]
