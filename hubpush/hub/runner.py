"""The one-command local hub behind ``hubpush hub up``, ``hub down`` and ``hub status``.

A hub is two pieces on this machine: the registry container (:mod:`.registry`), and the
hub gateway as a detached background process (:mod:`.process`) that listens on the host
port users put in image references and forwards to the registry. Their state lives in one
folder (:mod:`.state`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import docker

from ..config import default_hub_state_dir
from ..engine import connect
from ..hubapi import INFO_PATH
from ..localfiles import write_private
from ..oci.reference import join_host_port
from .process import check_port_free, gateway_alive, gateway_answers, probe_host, public_address, spawn_gateway, terminate
from .registry import HUB_NETWORK, REGISTRY_CONTAINER, REGISTRY_VOLUME, engine_errors, ensure_registry, remove_registry, wait_for_registry
from .state import (
    STATE_FILE,
    HubStatus,
    clear_pid,
    ensure_token_key,
    prepare_state_dir,
    read_pid,
    read_state,
    sha256,
    status_of,
    write_publisher_token,
)


# 8 parameters: the command's 4, and keyword-only names and engine client so tests run hubs side by side
def hub_up(
    port: int = 5000,
    listen_host: str = "127.0.0.1",
    state_dir: Path | None = None,
    publisher_token: str | None = None,
    *,
    container_name: str = REGISTRY_CONTAINER,
    volume_name: str = REGISTRY_VOLUME,
    network_name: str = HUB_NETWORK,
    client: docker.DockerClient | None = None,
) -> HubStatus:
    """Start the local hub (registry container, then gateway) unless it already runs.

    Idempotent: a gateway left by an earlier ``hub_up`` that still answers with the same
    settings is kept (``started=False``); one with other settings (port, registry address,
    publisher token) is replaced. A publisher token, once given, stays in force for later
    calls that pass none; delete ``publisher.token`` from the state folder to drop it.
    """
    folder = prepare_state_dir(state_dir)
    docker_client = client or connect()
    upstream = ensure_registry(docker_client, container_name, volume_name, network_name)
    wait_for_registry(upstream)

    token_key = ensure_token_key(folder)
    publisher_file = write_publisher_token(folder, publisher_token)
    listen = join_host_port(listen_host, port)
    command = [sys.executable, "-m", "hubpush", "hub", "serve", "--upstream", upstream, "--listen", listen]
    command += ["--token-key-file", str(token_key)]
    if publisher_file is not None:
        command += ["--publisher-token-file", str(publisher_file)]
    info_url = f"http://{join_host_port(probe_host(listen_host), port)}{INFO_PATH}"
    settings = {"command": command, "publisher_token_sha256": sha256(publisher_file)}

    previous = read_state(folder)
    pid = read_pid(folder)
    running = pid if pid is not None and gateway_alive(pid) else None
    if running is not None and previous.get("settings") == settings and gateway_answers(info_url):
        return status_of(folder, previous, running, started=False)
    holds_port = running is not None and previous.get("listen") == listen
    if not holds_port:
        check_port_free(listen_host, port)  # before stopping the old gateway: a refusal leaves it running
    if running is not None:
        terminate(running)
    clear_pid(folder)
    if holds_port:
        check_port_free(listen_host, port)

    pid = spawn_gateway(folder, command, info_url)
    state = {
        "address": public_address(listen_host, port),
        "listen": listen,
        "registry_container": container_name,
        "upstream": upstream,
        "info_url": info_url,
        "settings": settings,
    }
    write_private(folder / STATE_FILE, json.dumps(state, indent=2) + "\n")
    return status_of(folder, state, pid, started=True)


def hub_down(
    state_dir: Path | None = None,
    remove_data: bool = False,
    *,
    container_name: str = REGISTRY_CONTAINER,
    volume_name: str = REGISTRY_VOLUME,
    network_name: str = HUB_NETWORK,
    client: docker.DockerClient | None = None,
) -> bool:
    """Stop the gateway and remove the registry container (and its network).

    The pushed images stay in the volume for the next ``hub_up`` unless ``remove_data``.
    Returns True if a gateway or a registry container was actually stopped.
    """
    folder = state_dir or default_hub_state_dir()
    stopped = False
    pid = read_pid(folder)
    if pid is not None and gateway_alive(pid):
        terminate(pid)
        stopped = True
    clear_pid(folder)
    (folder / STATE_FILE).unlink(missing_ok=True)

    docker_client = client or connect()
    with engine_errors(f"remove the hub registry {container_name}"):
        stopped = remove_registry(docker_client, container_name, volume_name if remove_data else None, network_name) or stopped
    return stopped


def hub_status(state_dir: Path | None = None) -> HubStatus | None:
    """The hub started from ``state_dir`` if its gateway is alive and answering, else None."""
    folder = state_dir or default_hub_state_dir()
    state = read_state(folder)
    pid = read_pid(folder)
    if pid is None or not state or not gateway_alive(pid) or not gateway_answers(str(state.get("info_url", ""))):
        return None
    return status_of(folder, state, pid, started=False)
