"""The one-command local hub behind ``hubpush hub up`` and ``hubpush hub down``.

A hub is two pieces on this machine: a ``registry:2`` container on a private bridge
network with *no* published ports (so nothing can go around the gateway), and the
hub gateway (``hubpush hub serve``) as a detached background process that listens on
the host port users put in image references and forwards to the registry.

Everything the gateway needs lives in one state folder (default ``~/.hubpush/hub``):
``token.key`` (created once, reused), ``publisher.token`` (optional), ``gateway.pid``,
``hub.json`` (what ``hub_status`` reports) and ``gateway.log``.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
import requests.exceptions

from .errors import DockerUnreachableError, HubStartError, RegistryUnreachableError

REGISTRY_IMAGE = "registry:2"
REGISTRY_CONTAINER = "hubpush-hub-registry"
REGISTRY_VOLUME = "hubpush-hub-data"
HUB_NETWORK = "hubpush-hub"
INFO_PATH = "/hubpush/v1/info"
HUB_LABEL, HUB_ROLE = "org.hubpush.role", "hub-registry"
GATEWAY_SERVICE = "hubpush-gateway"

#: seconds to wait for the registry's /v2/ and for the gateway's info endpoint
REGISTRY_START_TIMEOUT = 15.0
GATEWAY_START_TIMEOUT = 15.0
#: seconds between SIGTERM and SIGKILL when stopping the gateway
GATEWAY_STOP_GRACE = 5.0
LOG_TAIL = 20

TOKEN_KEY_FILE = "token.key"
PUBLISHER_TOKEN_FILE = "publisher.token"
PID_FILE = "gateway.pid"
STATE_FILE = "hub.json"
LOG_FILE = "gateway.log"


@dataclass(frozen=True)
class HubStatus:
    """A running local hub, as ``hub up`` and ``hub status`` report it."""

    #: what users put in image references, e.g. ``localhost:5000``
    address: str
    registry_container: str
    #: the registry's own URL on the hub network, e.g. ``http://172.18.0.2:5000``
    upstream: str
    gateway_pid: int
    state_dir: str
    log_file: str
    #: False when the hub was already running and ``hub_up`` changed nothing
    started: bool

    def to_dict(self) -> dict[str, object]:
        return {"running": True, **asdict(self)}


def default_state_dir() -> Path:
    return Path.home() / ".hubpush" / "hub"


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
    folder = _prepare_state_dir(state_dir)
    docker_client = client or _docker_client()
    upstream = _ensure_registry(docker_client, container_name, volume_name, network_name)
    _wait_for_registry(upstream)

    token_key = _ensure_token_key(folder)
    publisher_file = _write_publisher_token(folder, publisher_token)
    listen = _join_host_port(listen_host, port)
    command = [sys.executable, "-m", "hubpush", "hub", "serve", "--upstream", upstream, "--listen", listen]
    command += ["--token-key-file", str(token_key)]
    if publisher_file is not None:
        command += ["--publisher-token-file", str(publisher_file)]
    info_url = f"http://{_join_host_port(_probe_host(listen_host), port)}{INFO_PATH}"
    settings = {"command": command, "publisher_token_sha256": _sha256(publisher_file)}

    previous = _read_state(folder)
    pid = _read_pid(folder)
    running = pid if pid is not None and _gateway_alive(pid) else None
    if running is not None and previous.get("settings") == settings and _gateway_answers(info_url):
        return _status(folder, previous, running, started=False)
    holds_port = running is not None and previous.get("listen") == listen
    if not holds_port:
        _check_port_free(listen_host, port)  # before stopping the old gateway: a refusal leaves it running
    if running is not None:
        _terminate(running)
    _clear_pid(folder)
    if holds_port:
        _check_port_free(listen_host, port)

    pid = _spawn_gateway(folder, command, info_url)
    state = {
        "address": _address(listen_host, port),
        "listen": listen,
        "registry_container": container_name,
        "upstream": upstream,
        "info_url": info_url,
        "settings": settings,
    }
    _write_private(folder / STATE_FILE, json.dumps(state, indent=2) + "\n")
    return _status(folder, state, pid, started=True)


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
    folder = state_dir or default_state_dir()
    stopped = False
    pid = _read_pid(folder)
    if pid is not None and _gateway_alive(pid):
        _terminate(pid)
        stopped = True
    _clear_pid(folder)
    (folder / STATE_FILE).unlink(missing_ok=True)

    docker_client = client or _docker_client()
    with _engine_errors(f"remove the hub registry {container_name}"):
        stopped = _remove_registry(docker_client, container_name, volume_name if remove_data else None, network_name) or stopped
    return stopped


def hub_status(state_dir: Path | None = None) -> HubStatus | None:
    """The hub started from ``state_dir`` if its gateway is alive and answering, else None."""
    folder = state_dir or default_state_dir()
    state = _read_state(folder)
    pid = _read_pid(folder)
    if pid is None or not state or not _gateway_alive(pid) or not _gateway_answers(str(state.get("info_url", ""))):
        return None
    return _status(folder, state, pid, started=False)


# --- the registry container ---------------------------------------------------------------


@contextlib.contextmanager
def _engine_errors(what: str) -> Iterator[None]:
    """Engine failures while doing ``what`` become one sentence."""
    try:
        yield
    except requests.exceptions.RequestException as exc:
        raise DockerUnreachableError(f"Lost the Docker engine while trying to {what} ({_short(exc)}).") from None
    except docker.errors.APIError as exc:
        raise DockerUnreachableError(f"The Docker engine refused to {what}: {exc.explanation or exc}.") from None


def _docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env(version="auto")
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise DockerUnreachableError(
            f"The Docker engine does not answer ({_short(exc)}); start it, or point DOCKER_HOST at one."
        ) from None
    return client


def _ensure_registry(client: docker.DockerClient, container_name: str, volume_name: str, network_name: str) -> str:
    """Create what is missing, start what is stopped; return the registry's URL on the network."""
    with _engine_errors(f"start the hub registry container {container_name}"):
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


def _remove_registry(client: docker.DockerClient, container_name: str, volume_name: str | None, network_name: str) -> bool:
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


def _wait_for_registry(upstream: str) -> None:
    if not _wait_until(lambda: _answers(f"{upstream}/v2/", lambda r: r.status_code == 200), REGISTRY_START_TIMEOUT):
        raise RegistryUnreachableError(
            f"The hub registry at {upstream} did not answer within {REGISTRY_START_TIMEOUT:.0f} s "
            "(this host must reach Docker bridge addresses); see `docker logs` of its container."
        )


# --- the state folder ---------------------------------------------------------------------


def _prepare_state_dir(state_dir: Path | None) -> Path:
    folder = state_dir or default_state_dir()
    try:
        if not folder.exists():
            # created private; an existing folder's permissions are its owner's business
            folder.mkdir(mode=0o700, parents=True)
    except OSError as exc:
        raise HubStartError(f"The hub state folder {folder} cannot be created ({exc.strerror or exc}).") from None
    return folder


def _ensure_token_key(folder: Path) -> Path:
    """The gateway's signing key: created once (0600), then reused so issued tokens stay valid."""
    path = folder / TOKEN_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_bytes(32).hex())
    return path


def _write_publisher_token(folder: Path, token: str | None) -> Path | None:
    """Write a new publisher token; with none given, keep the one an earlier call wrote."""
    path = folder / PUBLISHER_TOKEN_FILE
    if token is not None:
        _write_private(path, token)
    return path if path.exists() else None


def _sha256(path: Path | None) -> str | None:
    """A fingerprint of a file's contents, so a changed publisher token restarts the gateway."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path is not None else None


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with a 0600 file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # mkstemp creates 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_state(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _read_pid(folder: Path) -> int | None:
    try:
        return int((folder / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def _clear_pid(folder: Path) -> None:
    (folder / PID_FILE).unlink(missing_ok=True)


def _status(folder: Path, state: dict[str, Any], pid: int, *, started: bool) -> HubStatus:
    return HubStatus(
        address=str(state.get("address", "")),
        registry_container=str(state.get("registry_container", "")),
        upstream=str(state.get("upstream", "")),
        gateway_pid=pid,
        state_dir=str(folder),
        log_file=str(folder / LOG_FILE),
        started=started,
    )


# --- the gateway process ------------------------------------------------------------------


def _check_port_free(host: str, port: int) -> None:
    """Refuse early, with a clear sentence, when something else holds the port."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.create_server((host, port), family=family):  # sets SO_REUSEADDR, like servers do
            pass
    except OSError as exc:
        raise HubStartError(
            f"Port {port} on {host} is already taken by another program ({os.strerror(exc.errno) if exc.errno else exc}); "
            "stop it, or start the hub on another port."
        ) from None


def _spawn_gateway(folder: Path, command: list[str], info_url: str) -> int:
    """Start the gateway detached, record its pid, and wait until it answers."""
    log_file = folder / LOG_FILE
    with open(log_file, "ab") as log, open(os.devnull, "rb") as devnull:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} hubpush hub up: {' '.join(command)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            command,
            stdin=devnull,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    _write_private(folder / PID_FILE, f"{process.pid}\n")
    if _wait_until(lambda: process.poll() is not None or _gateway_answers(info_url), GATEWAY_START_TIMEOUT):
        if process.poll() is None:
            return process.pid
        _clear_pid(folder)
        raise HubStartError(
            f"The hub gateway exited during start-up (exit code {process.returncode}); see {log_file} for why.",
            detail=_tail(log_file),
        )
    _terminate(process.pid)
    process.poll()
    _clear_pid(folder)
    raise HubStartError(
        f"The hub gateway did not answer on {info_url} within {GATEWAY_START_TIMEOUT:.0f} s and was stopped; "
        f"see {log_file} for why.",
        detail=_tail(log_file),
    )


def _gateway_alive(pid: int) -> bool:
    """Whether ``pid`` is a live hub gateway (not an exited child, not a reused pid)."""
    if not _process_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return not Path("/proc/self").exists()  # no procfs (macOS): trust the pid
    return any(b"hubpush" in part for part in cmdline) and b"serve" in cmdline


def _process_alive(pid: int) -> bool:
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)  # our own child that exited: reap it
        if reaped:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _terminate(pid: int) -> None:
    """SIGTERM the gateway's process group, SIGKILL it after a grace period."""
    for sig, grace in ((signal.SIGTERM, GATEWAY_STOP_GRACE), (signal.SIGKILL, 2.0)):
        try:
            if os.getpgid(pid) == pid:  # started with start_new_session: take its workers too
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            return
        if _wait_until(lambda: not _process_alive(pid), grace):
            return


def _gateway_answers(info_url: str) -> bool:
    def is_gateway(response: requests.Response) -> bool:
        try:
            body = response.json()
        except ValueError:
            return False
        return response.status_code == 200 and isinstance(body, dict) and body.get("service") == GATEWAY_SERVICE

    return bool(info_url) and _answers(info_url, is_gateway)


def _answers(url: str, check: Callable[[requests.Response], bool]) -> bool:
    """One local GET (never through a proxy), judged by ``check``; no answer is False."""
    with requests.Session() as session:
        session.trust_env = False
        try:
            return check(session.get(url, timeout=2))
        except requests.exceptions.RequestException:
            return False


def _wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


# --- addresses ----------------------------------------------------------------------------


def _is_loopback_or_any(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def _address(listen_host: str, port: int) -> str:
    """What users put in image references; the engine pushes plain HTTP only to localhost."""
    return f"localhost:{port}" if _is_loopback_or_any(listen_host) else _join_host_port(listen_host, port)


def _probe_host(listen_host: str) -> str:
    """Where to reach a server listening on ``listen_host`` from this machine."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(listen_host, listen_host)


def _join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _tail(path: Path) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_TAIL:])
    except OSError:
        return ""


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1][:200] if text else exc.__class__.__name__
