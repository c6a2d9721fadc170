"""The hub gateway as a detached background process (``hubpush hub serve``), and the
addresses it listens on and is reached at."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import requests
import requests.exceptions

from ..errors import HubStartError
from ..hubapi import HubInfo
from ..localfiles import write_private
from ..oci.reference import is_loopback, join_host_port
from .state import LOG_FILE, PID_FILE, clear_pid

#: seconds to wait for the gateway's info endpoint
GATEWAY_START_TIMEOUT = 15.0
#: seconds between SIGTERM and SIGKILL when stopping the gateway
GATEWAY_STOP_GRACE = 5.0
LOG_TAIL = 20


def check_port_free(host: str, port: int) -> None:
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


def spawn_gateway(folder: Path, command: list[str], info_url: str) -> int:
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
    write_private(folder / PID_FILE, f"{process.pid}\n")
    if wait_until(lambda: process.poll() is not None or gateway_answers(info_url), GATEWAY_START_TIMEOUT):
        if process.poll() is None:
            return process.pid
        clear_pid(folder)
        raise HubStartError(
            f"The hub gateway exited during start-up (exit code {process.returncode}); see {log_file} for why.",
            detail=_tail(log_file),
        )
    terminate(process.pid)
    process.poll()
    clear_pid(folder)
    raise HubStartError(
        f"The hub gateway did not answer on {info_url} within {GATEWAY_START_TIMEOUT:.0f} s and was stopped; "
        f"see {log_file} for why.",
        detail=_tail(log_file),
    )


def gateway_alive(pid: int) -> bool:
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


def terminate(pid: int) -> None:
    """SIGTERM the gateway's process group, SIGKILL it after a grace period."""
    for sig, grace in ((signal.SIGTERM, GATEWAY_STOP_GRACE), (signal.SIGKILL, 2.0)):
        try:
            if os.getpgid(pid) == pid:  # started with start_new_session: take its workers too
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            return
        if wait_until(lambda: not _process_alive(pid), grace):
            return


def gateway_answers(info_url: str) -> bool:
    """Whether a hub gateway answers its info endpoint at ``info_url``."""

    def is_gateway(response: requests.Response) -> bool:
        try:
            body = response.json()
        except ValueError:
            return False
        return response.status_code == 200 and HubInfo.from_json(body) is not None

    return bool(info_url) and answers(info_url, is_gateway)


def answers(url: str, check: Callable[[requests.Response], bool]) -> bool:
    """One local GET (never through a proxy), judged by ``check``; no answer is False."""
    with requests.Session() as session:
        session.trust_env = False
        try:
            return check(session.get(url, timeout=2))
        except requests.exceptions.RequestException:
            return False


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Poll ``condition`` every ``interval`` seconds; False if it is still false after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _tail(path: Path) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_TAIL:])
    except OSError:
        return ""


def public_address(listen_host: str, port: int) -> str:
    """What users put in image references; the engine pushes plain HTTP only to localhost."""
    return f"localhost:{port}" if is_loopback(listen_host, or_unspecified=True) else join_host_port(listen_host, port)


def probe_host(listen_host: str) -> str:
    """Where to reach a server listening on ``listen_host`` from this machine."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(listen_host, listen_host)
