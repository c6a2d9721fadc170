"""The hub's state folder (default ``~/.hubpush/hub``): everything the gateway needs.

``token.key`` (created once, reused), ``publisher.token`` (optional), ``gateway.pid``,
``hub.json`` (what ``hub status`` reports) and ``gateway.log``.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..config import default_hub_state_dir
from ..errors import HubStartError
from ..localfiles import write_private

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


def prepare_state_dir(state_dir: Path | None) -> Path:
    """The state folder, created private if it is missing."""
    folder = state_dir or default_hub_state_dir()
    try:
        if not folder.exists():
            # created private; an existing folder's permissions are its owner's business
            folder.mkdir(mode=0o700, parents=True)
    except OSError as exc:
        raise HubStartError(f"The hub state folder {folder} cannot be created ({exc.strerror or exc}).") from None
    return folder


def ensure_token_key(folder: Path) -> Path:
    """The gateway's signing key: created once (0600), then reused so issued tokens stay valid."""
    path = folder / TOKEN_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_bytes(32).hex())
    return path


def write_publisher_token(folder: Path, token: str | None) -> Path | None:
    """Write a new publisher token; with none given, keep the one an earlier call wrote."""
    path = folder / PUBLISHER_TOKEN_FILE
    if token is not None:
        write_private(path, token)
    return path if path.exists() else None


def sha256(path: Path | None) -> str | None:
    """A fingerprint of a file's contents, so a changed publisher token restarts the gateway."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path is not None else None


def read_state(folder: Path) -> dict[str, Any]:
    """``hub.json``, or an empty dict when it is missing or unreadable."""
    try:
        data = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_pid(folder: Path) -> int | None:
    """The recorded gateway pid, if any."""
    try:
        return int((folder / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def clear_pid(folder: Path) -> None:
    """Forget the recorded gateway pid."""
    (folder / PID_FILE).unlink(missing_ok=True)


def status_of(folder: Path, state: dict[str, Any], pid: int, *, started: bool) -> HubStatus:
    """The hub described by ``state`` with its gateway at ``pid``."""
    return HubStatus(
        address=str(state.get("address", "")),
        registry_container=str(state.get("registry_container", "")),
        upstream=str(state.get("upstream", "")),
        gateway_pid=pid,
        state_dir=str(folder),
        log_file=str(folder / LOG_FILE),
        started=started,
    )
