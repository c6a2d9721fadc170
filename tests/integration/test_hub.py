"""`hub up` / `hub down` against the real engine, a real registry:2 and the real gateway process.

Every test uses its own container, volume and network names, state folder and port, so a
user's own hub on this machine (``hubpush-hub-*`` on port 5000) is never touched.
"""

from __future__ import annotations

import socket
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker.errors
import pytest
import requests

from hubpush.errors import HubpushError, HubStartError
from hubpush.hub import hub_down, hub_status, hub_up
from tests.conftest import free_port

pytestmark = pytest.mark.integration


def info(port: int) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{port}/hubpush/v1/info", timeout=5)


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


@pytest.fixture
def hub(docker_client, tmp_path) -> Iterator[dict]:
    """Keyword arguments for hub_up/hub_down naming this test's own hub; removed afterwards."""
    suffix = uuid.uuid4().hex[:8]
    names = {
        "container_name": f"hubpush-test-hub-registry-{suffix}",
        "volume_name": f"hubpush-test-hub-data-{suffix}",
        "network_name": f"hubpush-test-hub-{suffix}",
    }
    state_dir = tmp_path / "hub"
    try:
        yield {"state_dir": state_dir, "client": docker_client, **names}
    finally:
        hub_down(state_dir, remove_data=True, client=docker_client, **names)


def test_up_is_idempotent_and_down_keeps_the_data(docker_client, hub):
    port = free_port()
    names = {k: hub[k] for k in ("container_name", "volume_name", "network_name")}

    status = hub_up(port, **hub)

    assert status.started
    assert status.address == f"localhost:{port}"
    assert status.registry_container == names["container_name"]
    assert status.log_file == str(hub["state_dir"] / "gateway.log")
    answer = info(port)
    assert answer.status_code == 200, answer.text
    assert answer.json()["service"] == "hubpush-gateway"
    assert requests.get(f"{status.upstream}/v2/", timeout=5).status_code == 200

    # the registry is reachable only through the gateway
    container = docker_client.containers.get(names["container_name"])
    assert all(not bindings for bindings in container.attrs["NetworkSettings"]["Ports"].values())
    assert not container.attrs["HostConfig"]["PortBindings"]
    assert list(container.attrs["NetworkSettings"]["Networks"]) == [names["network_name"]]
    assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert "REGISTRY_STORAGE_DELETE_ENABLED=true" in container.attrs["Config"]["Env"]
    mounts = {m["Destination"]: m for m in container.attrs["Mounts"]}
    assert mounts["/var/lib/registry"]["Name"] == names["volume_name"]

    # the gateway runs the real command with a private, reusable signing key
    state_dir = hub["state_dir"]
    key_file = state_dir / "token.key"
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()
    assert len(bytes.fromhex(key)) == 32
    command = cmdline(status.gateway_pid)
    assert command[command.index("--upstream") + 1] == status.upstream
    assert command[command.index("--listen") + 1] == f"127.0.0.1:{port}"
    assert command[command.index("--token-key-file") + 1] == str(key_file)
    assert "--publisher-token-file" not in command

    again = hub_up(port, **hub)
    assert not again.started
    assert again.gateway_pid == status.gateway_pid
    assert again.upstream == status.upstream
    assert key_file.read_text() == key
    assert hub_status(state_dir) == again

    assert hub_down(state_dir, client=docker_client, **names) is True

    assert not Path(f"/proc/{status.gateway_pid}").exists()
    with pytest.raises(requests.exceptions.ConnectionError):
        info(port)
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(names["container_name"])
    with pytest.raises(docker.errors.NotFound):
        docker_client.networks.get(names["network_name"])
    docker_client.volumes.get(names["volume_name"])  # the pushed images stay
    assert not (state_dir / "gateway.pid").exists()
    assert hub_status(state_dir) is None
    assert hub_down(state_dir, client=docker_client, **names) is False


def test_publisher_token_is_passed_kept_and_replaced(hub):
    port = free_port()

    first = hub_up(port, publisher_token="publish-me", **hub)

    token_file = hub["state_dir"] / "publisher.token"
    assert token_file.read_text() == "publish-me"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    command = cmdline(first.gateway_pid)
    assert command[command.index("--publisher-token-file") + 1] == str(token_file)
    assert info(port).status_code == 200
    # a later `hub up` without a token neither drops it nor restarts the gateway
    again = hub_up(port, **hub)
    assert not again.started
    assert again.gateway_pid == first.gateway_pid
    # a new token replaces the gateway, which reads it only at start
    replaced = hub_up(port, publisher_token="publish-me-too", **hub)
    assert replaced.started
    assert replaced.gateway_pid != first.gateway_pid
    assert token_file.read_text() == "publish-me-too"
    assert not Path(f"/proc/{first.gateway_pid}").exists()
    assert info(port).status_code == 200


def test_a_taken_port_is_refused_with_one_sentence(hub):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]

        with pytest.raises(HubpushError) as refused:
            hub_up(port, **hub)

    assert f"Port {port}" in refused.value.message
    assert "already taken" in refused.value.message
    assert not (hub["state_dir"] / "gateway.pid").exists()
    assert hub_status(hub["state_dir"]) is None


def test_a_container_not_made_by_hub_up_is_never_used_or_removed(docker_client, hub):
    foreign = docker_client.containers.run("registry:2", name=hub["container_name"], detach=True)
    try:
        with pytest.raises(HubStartError, match="was not made by 'hubpush hub up'"):
            hub_up(port=free_port(), **hub)
        with pytest.raises(HubStartError, match="was not made by 'hubpush hub up'"):
            hub_down(hub["state_dir"], client=docker_client, container_name=hub["container_name"], network_name=hub["network_name"])
        foreign.reload()
        assert foreign.status == "running"
    finally:
        foreign.remove(force=True)
