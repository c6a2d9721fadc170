"""Floods of wrong secrets against a real gateway and registry:2, and the owner's push through them.

The flood comes from another loopback address (127.0.0.2, 127.0.0.3: loopback is a /8) than the
owner's CLI and engine (127.0.0.1), so the gateway tells them apart exactly as it tells two hosts
apart. Timings are compared within one test run: a legitimate update without a flood (the median of
three), then during floods of wrong-secret requests, 100 at a time, against the token service and
the hub API (the median of three, taken in turns with the normal ones; each flood is under way before
its update starts and lasts at least 1000 requests from then on: about 10 s, as the gateway holds
each connection it answered 429 for a second before reading its next request). The median
may be at most twice the normal one, or one second more, whichever is larger: on this 2-core machine
the flooding client itself, the gateway answering it, the registry, the engine and the CLI all share
the two cores.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from hubpush.core.names import repository_for
from hubpush.core.ratelimit import DEFAULT_ADDRESS_BUDGET
from hubpush.hubapi import PushCheck, push_path
from tests.conftest import TEST_BASE_IMAGE, Gateway, free_port, running_gateway, running_registry, unique_name

pytestmark = pytest.mark.slow

FLOOD_REQUESTS = 1000
FLOOD_PARALLEL = 100
#: the NAME's budget below the address's, so one flooding address spends a whole NAME's budget
LIMITS = {"HUBPUSH_GATEWAY_ADDRESS_FAILURES": str(DEFAULT_ADDRESS_BUDGET.failures), "HUBPUSH_GATEWAY_NAME_FAILURES": "5"}


@dataclass
class Owner:
    """A published executor and the CLI of its owner (on 127.0.0.1)."""

    name: str
    secret: str
    folder: Path
    env: dict[str, str]

    @property
    def repository(self) -> str:
        return repository_for(self.name)

    def update(self) -> float:
        """``hubpush push --force-update NAME --secret SECRET``; its wall-clock seconds."""
        started = time.monotonic()
        done = _cli(self.env, "push", "--json", "--force-update", self.name, "--secret", self.secret, self.folder)
        assert done.returncode == 0, done.stderr + done.stdout
        return time.monotonic() - started


@dataclass
class Flood:
    """Wrong-secret requests, ``parallel`` at a time from ``source``, until stopped."""

    base: str
    victim: str
    source: str
    parallel: int = FLOOD_PARALLEL
    answers: Counter[int] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)
    missing_retry_after: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    sent: int = 0

    def run(self) -> None:
        asyncio.run(self._flood())

    async def _flood(self) -> None:
        connector = aiohttp.TCPConnector(local_addr=(self.source, 0), limit=self.parallel)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
            await asyncio.gather(*(self._worker(session) for _ in range(self.parallel)))

    async def _worker(self, session: aiohttp.ClientSession) -> None:
        while not self.stop.is_set():
            self.sent += 1
            auth = "Basic " + base64.b64encode(f"{self.victim}:wrong-secret-{self.sent}".encode()).decode()
            if self.sent % 2:  # the token service, as docker login asks it
                request = session.get(
                    f"{self.base}/hubpush/v1/token",
                    params={"service": "hubpush", "scope": f"repository:{repository_for(self.victim)}:pull"},
                    headers={"Authorization": auth},
                )
            else:  # the hub API, as hubpush push --force-update asks it
                check = PushCheck(self.victim, True, [], [], None, "", True)
                request = session.post(
                    f"{self.base}{push_path(repository_for(self.victim))}", json=check.to_json(), headers={"Authorization": auth}
                )
            async with request as response:
                body = await response.read()
                self.answers[response.status] += 1
                if response.status == 429:
                    self.missing_retry_after += not response.headers.get("Retry-After", "").isdigit()
                    error = json.loads(body)["errors"][0]
                    self.messages[f"{error['code']}: {error['message'].partition(';')[0]}"] += 1


@pytest.fixture(scope="module")
def registry_behind(docker_client):
    with running_registry(docker_client) as started:
        yield started


@pytest.fixture
def hub(registry_behind, tmp_path) -> Iterator[Gateway]:
    with running_gateway(registry_behind, tmp_path, env=LIMITS) as started:
        yield started


def publish(gateway: Gateway, home: Path) -> Owner:
    name = unique_name("Flooded")
    folder = home / name
    folder.mkdir(parents=True)
    (folder / "config.yml").write_text(f"jtype: {name}\npy_modules:\n  - executor.py\nmetas:\n  name: {name}\n")
    (folder / "executor.py").write_text(f"# {name}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBPUSH_")}
    env.update(HUBPUSH_CONFIG_DIR=str(home / "config"), HUBPUSH_REGISTRY=gateway.address, HUBPUSH_BASE_IMAGE=TEST_BASE_IMAGE)
    done = _cli(env, "push", "--json", folder)
    assert done.returncode == 0, done.stderr + done.stdout
    out = json.loads(done.stdout)
    return Owner(out["name"], out["secret"], folder, env)


def _cli(env: dict[str, str], *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hubpush", *map(str, args)], env=env, capture_output=True, text=True, timeout=300)


def update_during(flood: Flood, owner: Owner, *, started_when: str = "") -> float:
    """One update of the owner while ``flood`` runs: under way before the update starts, and on
    until at least FLOOD_REQUESTS were sent since it started."""
    flooding = threading.Thread(target=flood.run, daemon=True)
    flooding.start()
    deadline = time.monotonic() + 60
    while sum(flood.answers.values()) < FLOOD_PARALLEL:
        assert time.monotonic() < deadline and flooding.is_alive(), f"the flood did not get going: {flood.answers}"
        time.sleep(0.02)
    try:
        if started_when:
            assert any(started_when in message for message in list(flood.messages)), f"not yet refused as {started_when!r}: {flood.messages}"
        before = flood.sent
        took = owner.update()
        while flood.sent - before < FLOOD_REQUESTS and flooding.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert flooding.is_alive(), f"the flood ended before the update did ({flood.sent} sent)"
    finally:
        flood.stop.set()
        flooding.join(timeout=120)
    return took


def compare(owner: Owner, flood: Callable[[], Flood], *, flood_first: bool = False, started_when: str = "") -> tuple[float, float]:
    """Medians of three updates without and three during a flood, taken in turns, so that a passing load
    on the machine (other processes) weighs on both alike; the floods' answers are checked."""
    normal, during, floods = [], [], []
    for _ in range(3):
        if not flood_first:
            normal.append(owner.update())
        floods.append(flood())
        during.append(update_during(floods[-1], owner, started_when=started_when))
        if flood_first:
            normal.append(owner.update())
    assert_limited(floods)
    print(f"the owner's update: {normal} s normally, {during} s during floods of {[f.sent for f in floods]} requests")
    return statistics.median(normal), statistics.median(during)


def assert_limited(floods: list[Flood]) -> None:
    """Nearly every request was refused before scrypt ran, each with Retry-After; no answer was a failure."""
    answers = sum((flood.answers for flood in floods), Counter())
    checked = answers[401] + answers[403]  # these ran scrypt and failed
    assert set(answers) <= {401, 403, 429}, answers
    # the NAME's budget (5), and one more per 12 s it refills (the address, from which all floods come, is not clean)
    assert checked <= 5 + 3, f"{checked} wrong secrets were checked: {answers}"
    assert all(flood.missing_retry_after == 0 for flood in floods)
    messages = sum((flood.messages for flood in floods), Counter())
    assert all(message.startswith("TOOMANYREQUESTS: Too many wrong") for message in messages), messages


def within_limit(normal: float, during: float) -> bool:
    """At most twice the normal time, or one second more on this 2-core machine."""
    return during <= max(2 * normal, normal + 1.0)


def test_a_flood_of_wrong_secrets_for_another_executor_leaves_the_owners_push_at_its_speed(hub, tmp_path):
    owner, victim = publish(hub, tmp_path / "owner"), publish(hub, tmp_path / "victim")
    owner.update()  # the first update after a publish fills the engine's build cache; not measured
    base = f"http://127.0.0.1:{hub.address.rpartition(':')[2]}"
    normal, during = compare(owner, lambda: Flood(base, victim.name, "127.0.0.2"))
    assert within_limit(normal, during), f"normal {normal:.2f} s, during the flood {during:.2f} s"


def test_a_flood_on_the_owners_own_name_does_not_lock_the_owner_out(registry_behind, tmp_path):
    """The flooding address spends the NAME's whole budget. The first flood hits a fresh gateway process,
    with no verified pair cached, so the owner's first check then passes only because its address
    failed nothing; later ones pass from the cache."""
    port = free_port()
    with running_gateway(registry_behind, tmp_path, port=port, env=LIMITS) as first:
        owner = publish(first, tmp_path / "owner")
        owner.update()  # not measured: fills the engine's build cache
    with running_gateway(registry_behind, tmp_path, port=port, env=LIMITS):
        flood = functools.partial(Flood, f"http://127.0.0.1:{port}", owner.name, "127.0.0.3")
        normal, during = compare(owner, flood, flood_first=True, started_when=f"were tried for {owner.repository}")
    assert within_limit(normal, during), f"normal {normal:.2f} s, during the flood {during:.2f} s"
