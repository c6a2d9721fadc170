"""The hub's registry: a ``registry:2`` container on a private bridge network with *no*
published ports, so nothing can go around the gateway, and a volume that keeps its data."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import docker
import docker.errors
import requests.exceptions

from ..engine import short_reason
from ..errors import DockerUnreachableError, HubStartError, RegistryUnreachableError
from .process import answers, wait_until

REGISTRY_IMAGE = "registry:2"
REGISTRY_CONTAINER = "hubpush-hub-registry"
REGISTRY_VOLUME = "hubpush-hub-data"
HUB_NETWORK = "hubpush-hub"
HUB_LABEL, HUB_ROLE = "org.hubpush.role", "hub-registry"
#: seconds to wait for the registry's /v2/
REGISTRY_START_TIMEOUT = 15.0


@contextlib.contextmanager
def engine_errors(what: str) -> Iterator[None]:
    """Engine failures while doing ``what`` become one sentence."""
    try:
        yield
    except requests.exceptions.RequestException as exc:
        raise DockerUnreachableError(f"Lost the Docker engine while trying to {what} ({short_reason(exc)}).") from None
    except docker.errors.APIError as exc:
        raise DockerUnreachableError(f"The Docker engine refused to {what}: {exc.explanation or exc}.") from None


def ensure_registry(client: docker.DockerClient, container_name: str, volume_name: str, network_name: str) -> str:
    """Create what is missing, start what is stopped; return the registry's URL on the network."""
    with engine_errors(f"start the hub registry container {container_name}"):
        try:
            network = client.networks.get(network_name)
        except docker.errors.NotFound:
            network = client.networks.create(network_name, driver="bridge")
        try:
            container = _own_container(client, container_name)
        except docker.errors.NotFound:
            container = _run_registry(client, container_name, volume_name, network_name)
        if network_name not in container.attrs["NetworkSettings"]["Networks"]:
            network.connect(container)
        if container.status != "running":
            container.start()
        container.reload()
    ip = container.attrs["NetworkSettings"]["Networks"][network_name].get("IPAddress")
    if not ip:
        raise DockerUnreachableError(f"The hub registry container {container_name} got no address on network {network_name}.")
    return f"http://{ip}:5000"


def _own_container(client: docker.DockerClient, name: str) -> Any:
    """The container ``name`` if ``hub up`` made it; a user's container of that name is never touched."""
    container = client.containers.get(name)
    if container.labels.get(HUB_LABEL) != HUB_ROLE:
        raise HubStartError(
            f"A container named {name} exists but was not made by 'hubpush hub up'; rename or remove it, then retry."
        )
    return container


def _run_registry(client: docker.DockerClient, name: str, volume_name: str, network_name: str) -> Any:
    try:
        client.images.get(REGISTRY_IMAGE)
    except docker.errors.ImageNotFound:
        raise DockerUnreachableError(
            f"The Docker engine has no {REGISTRY_IMAGE} image; pull it, or run scripts/bootstrap.sh to build one offline."
        ) from None
    return client.containers.run(
        REGISTRY_IMAGE,
        name=name,
        detach=True,
        network=network_name,
        restart_policy={"Name": "unless-stopped"},
        volumes={volume_name: {"bind": "/var/lib/registry", "mode": "rw"}},
        environment={"REGISTRY_STORAGE_DELETE_ENABLED": "true"},
        labels={HUB_LABEL: HUB_ROLE},
    )


def remove_registry(client: docker.DockerClient, container_name: str, volume_name: str | None, network_name: str) -> bool:
    """Remove the container, its network if nothing else uses it, and the volume if named; True if a container went."""
    removed = False
    try:
        _own_container(client, container_name).remove(force=True)  # the registry writes blobs atomically
        removed = True
    except docker.errors.NotFound:
        pass
    try:
        network = client.networks.get(network_name)
        network.reload()
        if not network.attrs.get("Containers"):
            network.remove()
    except docker.errors.NotFound:
        pass
    if volume_name is not None:
        with contextlib.suppress(docker.errors.NotFound):
            client.volumes.get(volume_name).remove()
    return removed


def wait_for_registry(upstream: str) -> None:
    """Wait until the hub's registry answers ``/v2/``, or raise."""
    if not wait_until(lambda: answers(f"{upstream}/v2/", lambda r: r.status_code == 200), REGISTRY_START_TIMEOUT):
        raise RegistryUnreachableError(
            f"The hub registry at {upstream} did not answer within {REGISTRY_START_TIMEOUT:.0f} s "
            "(this host must reach Docker bridge addresses); see `docker logs` of its container."
        )
