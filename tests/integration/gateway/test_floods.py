"""Floods of wrong secrets against a real gateway and registry:2, and the owner's push through them.

The flood comes from another loopback address (127.0.0.2, 127.0.0.3: loopback is a /8) than the
owner's CLI and engine (127.0.0.1), so the gateway tells them apart exactly as it tells two hosts
apart. Timings are compared within one test run: a legitimate update without a flood (the median of
three), then one during a flood of at least 1000 wrong-secret requests, 100 at a time, against the
token service and the hub API. It may take at most twice as long, or one second more on this 2-core
machine, whichever is larger: the flooding client, the gateway and the CLI share the two cores.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
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
    """Wrong-secret requests, ``parallel`` at a time from ``source``, until stopped and ``total`` were sent."""

    base: str
    victim: str
    source: str
    total: int = FLOOD_REQUESTS
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
        while self.sent < self.total or not self.stop.is_set():
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


def normal_time(owner: Owner) -> float:
    owner.update()  # the first update after a publish builds its layer cache entries; not measured
    return statistics.median(owner.update() for _ in range(3))


def update_during(flood: Flood, owner: Owner, *, started_when: str = "") -> float:
    """The owner's update while ``flood`` runs (it is under way, with 429s, before the update starts)."""
    flooding = threading.Thread(target=flood.run, daemon=True)
    flooding.start()
    deadline = time.monotonic() + 60
    while sum(flood.answers.values()) < FLOOD_PARALLEL:
        assert time.monotonic() < deadline and flooding.is_alive(), f"the flood did not get going: {flood.answers}"
        time.sleep(0.02)
    try:
        if started_when:
            assert any(started_when in message for message in list(flood.messages)), f"not yet refused as {started_when!r}: {flood.messages}"
        took = owner.update()
        assert flooding.is_alive(), f"the flood ended before the update did ({flood.sent} sent): flood harder"
    finally:
        flood.stop.set()
        flooding.join(timeout=120)
    return took


def assert_limited(flood: Flood, budget: int) -> None:
    """Nearly every request was refused before scrypt ran, each with Retry-After; no answer was a failure."""
    print(f"flood from {flood.source}: {flood.sent} sent, answers {dict(flood.answers)}")  # shown with -s
    assert flood.sent >= FLOOD_REQUESTS
    assert sum(flood.answers.values()) >= FLOOD_REQUESTS, flood.answers
    checked = flood.answers[401] + flood.answers[403]  # these ran scrypt and failed
    assert set(flood.answers) <= {401, 403, 429}, flood.answers
    assert checked <= budget + 2, f"{checked} wrong secrets were checked, the budget is {budget}: {flood.answers}"
    assert flood.missing_retry_after == 0
    assert all(message.startswith("TOOMANYREQUESTS: Too many wrong") for message in flood.messages), flood.messages


def test_a_flood_of_wrong_secrets_for_another_executor_leaves_the_owners_push_at_its_speed(hub, registry_behind, tmp_path):
    owner, victim = publish(hub, tmp_path / "owner"), publish(hub, tmp_path / "victim")
    normal = normal_time(owner)
    flood = Flood(f"http://127.0.0.1:{hub.address.rpartition(':')[2]}", victim.name, "127.0.0.2")
    during = update_during(flood, owner)
    print(f"the owner's update: {normal:.2f} s normally, {during:.2f} s during the flood")
    assert during <= max(2 * normal, normal + 1.0), f"normal {normal:.2f} s, during the flood {during:.2f} s ({flood.answers})"
    assert_limited(flood, DEFAULT_ADDRESS_BUDGET.failures)


def test_a_flood_on_the_owners_own_name_does_not_lock_the_owner_out(registry_behind, tmp_path):
    """The flooding address spends the NAME's whole budget; a fresh gateway process has no verified
    pair cached, so the owner's first check passes only because its address failed nothing."""
    port = free_port()
    with running_gateway(registry_behind, tmp_path, port=port, env=LIMITS) as first:
        owner = publish(first, tmp_path / "owner")
        normal = normal_time(owner)
    with running_gateway(registry_behind, tmp_path, port=port, env=LIMITS):
        flood = Flood(f"http://127.0.0.1:{port}", owner.name, "127.0.0.3")
        during = update_during(flood, owner, started_when=f"were tried for {owner.repository}")
    print(f"the owner's update: {normal:.2f} s normally, {during:.2f} s during the flood")
    assert during <= max(2 * normal, normal + 1.0), f"normal {normal:.2f} s, during the flood {during:.2f} s ({flood.answers})"
    assert_limited(flood, 5)
