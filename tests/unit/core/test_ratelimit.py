"""The budgets of failed secret checks: per address, per NAME, bounded memory, an injected clock."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubpush.core.ratelimit import (
    Budget,
    FailureBuckets,
    Refused,
    SecretCheckLimits,
    Ticket,
    address_key,
    client_address,
    parse_networks,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limits(clock: Clock, address: int = 3, name: int = 5, window: float = 60.0) -> SecretCheckLimits:
    return SecretCheckLimits(Budget(address, window), Budget(name, window), clock)


def fail(limits: SecretCheckLimits, address: str, name: str) -> Ticket | Refused:
    admitted = limits.admit(address, name)
    if isinstance(admitted, Ticket):
        limits.settle(admitted, succeeded=False)
    return admitted


def test_an_address_over_its_budget_is_refused_until_a_failure_refills():
    clock = Clock()
    gate = limits(clock, address=3)
    assert all(isinstance(fail(gate, "10.0.0.9", "victim"), Ticket) for _ in range(3))
    refused = gate.admit("10.0.0.9", "victim")
    assert refused == Refused(retry_after=20, spent="address")  # 3 per 60 s: one every 20 s
    clock.now += 19.5
    assert isinstance(gate.admit("10.0.0.9", "other"), Refused)
    clock.now += 0.5
    assert isinstance(gate.admit("10.0.0.9", "other"), Ticket)


def test_reservations_bound_concurrent_checks_before_any_of_them_ends():
    gate = limits(Clock(), address=3)
    admitted = [gate.admit("10.0.0.9", "victim") for _ in range(100)]  # 100 in flight at once
    assert sum(isinstance(a, Ticket) for a in admitted) == 3


def test_successful_checks_cost_nothing():
    gate = limits(Clock(), address=2, name=2)
    for _ in range(50):
        ticket = gate.admit("10.0.0.1", "mine")
        assert isinstance(ticket, Ticket)
        gate.settle(ticket, succeeded=True)
    assert gate.addresses.is_full("10.0.0.1") and gate.names.is_full("mine")
    assert len(gate.addresses) == len(gate.names) == 0  # full budgets are not even remembered


def test_a_name_under_attack_from_many_addresses_still_admits_a_clean_address_once():
    gate = limits(Clock(), address=3, name=5)
    attackers = [f"10.0.1.{i}" for i in range(10)]
    outcomes = [fail(gate, attacker, "victim") for attacker in attackers for _ in range(3)]
    # the NAME's 5 failures, then each attacker's first try (clean so far), then nothing
    assert sum(isinstance(o, Ticket) for o in outcomes) == 5 + (10 - 2)
    assert isinstance(gate.admit(attackers[0], "victim"), Refused)
    assert gate.admit(attackers[0], "victim").spent == "address"
    # the owner, from an address that failed nothing, gets through at once
    owner = gate.admit("192.168.7.7", "victim")
    assert isinstance(owner, Ticket) and not owner.charged_name
    gate.settle(owner, succeeded=True)
    assert gate.addresses.is_full("192.168.7.7")


def test_an_address_that_failed_lately_waits_while_the_name_is_under_attack():
    clock = Clock()
    gate = limits(clock, address=3, name=2)
    fail(gate, "10.0.0.1", "victim")
    fail(gate, "10.0.0.2", "victim")  # the NAME's budget is spent
    refused = gate.admit("10.0.0.1", "victim")
    # 10.0.0.1 is clean again in 20 s (one failure back at 3 per minute), before the NAME refills one (30 s)
    assert refused == Refused(retry_after=20, spent="name")
    assert isinstance(gate.admit("10.0.0.1", "another-name"), Ticket)  # other NAMEs are not affected


def test_memory_stays_bounded_under_a_flood_of_distinct_keys():
    buckets = FailureBuckets(Budget(1, 60.0), Clock(), max_keys=100)
    for i in range(10_000):
        buckets.take(f"addr-{i}")
    assert len(buckets) == 100
    assert not buckets.has_token("addr-9999") and buckets.has_token("addr-0")  # the oldest went first


@pytest.mark.parametrize("failures, window", [(0, 60.0), (1, 0.0), (-1, 5.0)])
def test_budgets_must_allow_something(failures, window):
    with pytest.raises(ValueError):
        Budget(failures, window)


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.booleans(), st.floats(0, 30)), max_size=60))
def test_the_number_of_failed_checks_never_passes_the_budget_plus_its_refill(steps):
    clock = Clock()
    gate = limits(clock, address=3, name=100)
    start, failures = clock.now, 0
    for address, succeeds, wait in steps:
        clock.now += wait
        admitted = gate.admit(address, "n")
        if isinstance(admitted, Ticket):
            gate.settle(admitted, succeeded=succeeds)
            failures += not succeeds
    elapsed = clock.now - start
    assert failures <= 3 * (3 + elapsed / 20)  # three addresses, each 3 at once and one per 20 s


def test_ipv6_clients_are_counted_by_their_64_prefix():
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:10.1.2.3") == "10.1.2.3"
    assert address_key("127.0.0.2") == "127.0.0.2"
    assert address_key("") == ""


def test_forwarded_for_is_believed_only_from_trusted_proxies():
    trusted = parse_networks("10.0.0.5, 192.168.0.0/16")
    assert client_address("203.0.113.9", ["1.2.3.4"], trusted) == "203.0.113.9"  # not a proxy: the header is anyone's
    assert client_address("10.0.0.5", ["1.2.3.4"], ()) == "10.0.0.5"  # no proxies configured
    assert client_address("10.0.0.5", ["1.2.3.4"], trusted) == "1.2.3.4"
    # entries left of the first untrusted one were written by the client: never believed
    assert client_address("10.0.0.5", ["6.6.6.6, 1.2.3.4, 192.168.1.1"], trusted) == "1.2.3.4"
    assert client_address("10.0.0.5", ["6.6.6.6", "1.2.3.4"], trusted) == "1.2.3.4"
    assert client_address("10.0.0.5", ["not-an-address"], trusted) == "10.0.0.5"
    assert client_address("10.0.0.5", [], trusted) == "10.0.0.5"


def test_proxy_lists_name_what_is_wrong():
    assert parse_networks("") == ()
    assert parse_networks("::1") == (ipaddress.ip_network("::1"),)
    with pytest.raises(ValueError, match="10.0.0.300"):
        parse_networks("10.0.0.1, 10.0.0.300")
