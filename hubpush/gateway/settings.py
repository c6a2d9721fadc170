"""The gateway's configuration: flags and environment gathered into one object."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..core.ratelimit import DEFAULT_ADDRESS_BUDGET, DEFAULT_NAME_BUDGET, Budget, Networks, parse_networks
from ..errors import HubStartError

UPSTREAM_ENV = "HUBPUSH_GATEWAY_UPSTREAM"
TOKEN_KEY_ENV = "HUBPUSH_GATEWAY_TOKEN_KEY"
PUBLISHER_TOKEN_ENV = "HUBPUSH_GATEWAY_PUBLISHER_TOKEN"
IDLE_SECONDS_ENV = "HUBPUSH_GATEWAY_IDLE_SECONDS"
DEFAULT_IDLE_SECONDS = 60.0
INDEX_SECONDS_ENV = "HUBPUSH_GATEWAY_INDEX_SECONDS"
DEFAULT_INDEX_SECONDS = 15.0
#: failed secret checks per client address, and per executor, refilled over the window
ADDRESS_FAILURES_ENV = "HUBPUSH_GATEWAY_ADDRESS_FAILURES"
NAME_FAILURES_ENV = "HUBPUSH_GATEWAY_NAME_FAILURES"
FAILURE_WINDOW_ENV = "HUBPUSH_GATEWAY_FAILURE_WINDOW_SECONDS"
#: proxies whose X-Forwarded-For names the client (addresses or networks, comma-separated)
TRUSTED_PROXIES_ENV = "HUBPUSH_GATEWAY_TRUSTED_PROXIES"

#: builds of folders uploaded by ``jina hub push``: "off" refuses them; how many at once, waiting, how long each
BUILDS_ENV = "HUBPUSH_GATEWAY_BUILDS"
BUILDS_AT_ONCE_ENV = "HUBPUSH_GATEWAY_BUILDS_AT_ONCE"
BUILD_QUEUE_ENV = "HUBPUSH_GATEWAY_BUILD_QUEUE"
BUILD_SECONDS_ENV = "HUBPUSH_GATEWAY_BUILD_SECONDS"


@dataclass(frozen=True)
class BuildSettings:
    """How much building the hub takes on (``jina hub push`` uploads)."""

    #: False: the hub answers every upload with "this hub does not build"
    enabled: bool = True
    at_once: int = 1
    waiting: int = 8
    seconds: float = 1800.0
    #: the most bytes an uploaded zip may have
    max_upload: int = 100 << 20


@dataclass(frozen=True)
class GatewaySettings:
    upstream: str
    host: str = "127.0.0.1"
    port: int = 5000
    #: the URL clients reach the gateway at (behind a TLS proxy); default: what each request says
    public_url: str | None = None
    #: signs bearer tokens; every replica behind one address needs the same key
    token_key: bytes = b""
    #: when set, only callers presenting it may create new executors
    publisher_token: str | None = None
    #: True when no key was configured and a random one was drawn (tokens die with the process)
    ephemeral_key: bool = False
    #: how long a client may leave a streamed body or answer untouched before it is dropped
    idle_seconds: float = DEFAULT_IDLE_SECONDS
    #: how often the portal's index looks for pushes that other replicas handled
    index_seconds: float = DEFAULT_INDEX_SECONDS
    #: the hub's own builds (``jina hub push``)
    builds: BuildSettings = BuildSettings()
    #: failed secret checks one client address may make per window, before 429
    address_budget: Budget = DEFAULT_ADDRESS_BUDGET
    #: failed secret checks per window for one executor, from addresses that failed already
    name_budget: Budget = DEFAULT_NAME_BUDGET
    #: peers whose X-Forwarded-For is believed; none: the peer address is the client
    trusted_proxies: Networks = ()

    @classmethod
    def from_flags(
        cls,
        *,
        upstream: str | None,
        listen: str,
        public_url: str | None = None,
        token_key_file: Path | None = None,
        publisher_token_file: Path | None = None,
    ) -> GatewaySettings:
        upstream = upstream or os.environ.get(UPSTREAM_ENV)
        if not upstream or not upstream.startswith(("http://", "https://")):
            raise HubStartError("The gateway needs its registry: pass --upstream http(s)://HOST:PORT (or set HUBPUSH_GATEWAY_UPSTREAM).")
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise HubStartError(f"--listen {listen!r} is not HOST:PORT; write e.g. 127.0.0.1:5000.")
        key_text = _read_file(token_key_file, "--token-key-file") if token_key_file else os.environ.get(TOKEN_KEY_ENV, "")
        publisher = (
            _read_file(publisher_token_file, "--publisher-token-file")
            if publisher_token_file
            else os.environ.get(PUBLISHER_TOKEN_ENV)
        )
        idle, index = _number(IDLE_SECONDS_ENV, DEFAULT_IDLE_SECONDS), _number(INDEX_SECONDS_ENV, DEFAULT_INDEX_SECONDS)
        window = _number(FAILURE_WINDOW_ENV, DEFAULT_ADDRESS_BUDGET.window)
        address_budget = Budget(_count(ADDRESS_FAILURES_ENV, DEFAULT_ADDRESS_BUDGET.failures), window)
        name_budget = Budget(_count(NAME_FAILURES_ENV, DEFAULT_NAME_BUDGET.failures), window)
        if key_text and len(key_text) < 32:
            raise HubStartError("The token key must be at least 32 characters; create one with: openssl rand -hex 32.")
        return cls(
            upstream=upstream.rstrip("/"),
            host=host.strip("[]"),
            port=int(port),
            public_url=public_url.rstrip("/") if public_url else None,
            token_key=key_text.encode("utf-8") if key_text else secrets.token_bytes(32),
            publisher_token=publisher or None,
            ephemeral_key=not key_text,
            idle_seconds=idle,
            index_seconds=index,
            address_budget=address_budget,
            name_budget=name_budget,
            trusted_proxies=_networks(os.environ.get(TRUSTED_PROXIES_ENV, "")),
            builds=_build_settings(),
        )


def _build_settings() -> BuildSettings:
    """The build limits from the environment; each refused with its variable's name when malformed."""
    switch = os.environ.get(BUILDS_ENV, "on").strip().lower()
    if switch not in ("on", "off"):
        raise HubStartError(f"{BUILDS_ENV} must be 'on' or 'off', not {switch!r}.")
    defaults = BuildSettings()
    numbers = {}
    for variable, default in ((BUILDS_AT_ONCE_ENV, defaults.at_once), (BUILD_QUEUE_ENV, defaults.waiting)):
        text = os.environ.get(variable, "")
        if text and not (text.isdigit() and 0 < int(text) <= 64):
            raise HubStartError(f"{variable} must be a whole number from 1 to 64, not {text!r}.")
        numbers[variable] = int(text) if text else default
    seconds = os.environ.get(BUILD_SECONDS_ENV, "")
    if seconds and not _is_positive_number(seconds):
        raise HubStartError(f"{BUILD_SECONDS_ENV} must be a number of seconds above 0, not {seconds!r}.")
    return BuildSettings(
        enabled=switch == "on",
        at_once=numbers[BUILDS_AT_ONCE_ENV],
        waiting=numbers[BUILD_QUEUE_ENV],
        seconds=float(seconds) if seconds else defaults.seconds,
    )


def _read_file(path: Path, flag: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise HubStartError(f"{flag} {path} cannot be read ({exc.strerror}); check the path and its permissions.") from None


def _is_positive_number(text: str) -> bool:
    try:
        return 0 < float(text) < 86400
    except ValueError:
        return False


def _number(variable: str, default: float) -> float:
    value = os.environ.get(variable, "")
    if value and not _is_positive_number(value):
        raise HubStartError(f"{variable} must be a number of seconds above 0, not {value!r}.")
    return float(value) if value else default


def _count(variable: str, default: int) -> int:
    value = os.environ.get(variable, "").strip()
    if value and not (value.isdigit() and 0 < int(value) <= 1_000_000):
        raise HubStartError(f"{variable} must be a whole number from 1 to 1000000, not {value!r}.")
    return int(value) if value else default


def _networks(text: str) -> Networks:
    try:
        return parse_networks(text)
    except ValueError as exc:
        raise HubStartError(
            f"{TRUSTED_PROXIES_ENV} lists {str(exc)[:60]!r}, which is not an address or network; write e.g. 10.0.0.5,192.168.0.0/16."
        ) from None
