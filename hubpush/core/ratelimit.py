"""Budgets of failed secret checks, per client address and per executor. Pure: no I/O, an injected clock.

A secret check costs one scrypt (tens of milliseconds of CPU, 16 MiB), so a flood of wrong
secrets would otherwise queue every real login behind it. :class:`SecretCheckLimits` decides,
*before* any scrypt runs and before the metadata is read, whether a check may run at all:

- every client address has a budget of failed checks (a token bucket: ``failures`` of them,
  refilled evenly over ``window`` seconds). A check reserves one token; a check that succeeds
  gives it back, so owners who know their secret never spend budget. An address with an empty
  budget is refused at once, with the time until its next token.
- every executor has a budget too, which bounds the scrypt work many addresses together can
  spend on one NAME. An empty NAME budget does not lock the owner out: an address without a
  failed (or pending) check in its window, a *clean* one, may still try, and its first failure
  makes it unclean. A flood from other addresses therefore never refuses the owner's address.

Memory is bounded: each budget keeps at most ``max_keys`` keys, least recently used first out
(a key that falls out starts again with a full budget, which errs toward letting checks run).
"""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

Clock = Callable[[], float]
#: keys each budget remembers at most: a few hundred bytes each
DEFAULT_MAX_KEYS = 16384


@dataclass(frozen=True)
class Budget:
    """``failures`` failed checks, refilled evenly over ``window`` seconds."""

    failures: int
    window: float

    def __post_init__(self) -> None:
        if self.failures < 1 or not self.window > 0:
            raise ValueError("a budget needs at least one failure and a window above 0 seconds")

    @property
    def per_second(self) -> float:
        return self.failures / self.window


#: the gateway's defaults: 10 failures per address and 30 per NAME, each refilled over a minute
DEFAULT_ADDRESS_BUDGET = Budget(10, 60.0)
DEFAULT_NAME_BUDGET = Budget(30, 60.0)


class FailureBuckets:
    """One token bucket per key, all with the same :class:`Budget`, at most ``max_keys`` of them."""

    def __init__(self, budget: Budget, clock: Clock, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self.budget = budget
        self._clock = clock
        self._max_keys = max_keys
        #: key -> (tokens, when they were counted); absent keys are full
        self._levels: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def level(self, key: str) -> float:
        """Tokens ``key`` has now (fractions count toward the next one)."""
        found = self._levels.get(key)
        if found is None:
            return float(self.budget.failures)
        tokens, at = found
        return min(float(self.budget.failures), tokens + (self._clock() - at) * self.budget.per_second)

    def is_full(self, key: str) -> bool:
        return self.level(key) >= self.budget.failures

    def has_token(self, key: str) -> bool:
        return self.level(key) >= 1

    def take(self, key: str) -> None:
        """Spend one token (callers check :meth:`has_token` first)."""
        self._set(key, self.level(key) - 1)

    def give_back(self, key: str) -> None:
        self._set(key, self.level(key) + 1)

    def seconds_until(self, key: str, tokens: float) -> float:
        """How long until ``key`` has ``tokens`` tokens again."""
        return max(0.0, (tokens - self.level(key)) / self.budget.per_second)

    def _set(self, key: str, tokens: float) -> None:
        if tokens >= self.budget.failures:
            self._levels.pop(key, None)  # a full bucket is the same as none: nothing to remember
            return
        self._levels[key] = (tokens, self._clock())
        self._levels.move_to_end(key)
        while len(self._levels) > self._max_keys:
            self._levels.popitem(last=False)

    def __len__(self) -> int:
        return len(self._levels)


@dataclass(frozen=True)
class Ticket:
    """A secret check that may run; hand it back to :meth:`SecretCheckLimits.settle` with the outcome."""

    address: str
    name: str
    #: whether the NAME's budget was charged (not when a clean address passed an empty NAME budget)
    charged_name: bool


@dataclass(frozen=True)
class Refused:
    """A secret check that may not run now."""

    #: whole seconds until it may (at least 1), for ``Retry-After``
    retry_after: int
    #: "address" or "name": whose budget is spent
    spent: str


class SecretCheckLimits:
    """Whether a secret check may run, by the budgets of the caller's address and of the NAME."""

    def __init__(self, per_address: Budget, per_name: Budget, clock: Clock, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self.addresses = FailureBuckets(per_address, clock, max_keys)
        self.names = FailureBuckets(per_name, clock, max_keys)

    def admit(self, address: str, name: str) -> Ticket | Refused:
        """Reserve the check's cost before it runs: concurrent checks each see the others' reservations."""
        if not self.addresses.has_token(address):
            return Refused(_whole(self.addresses.seconds_until(address, 1)), "address")
        if self.names.has_token(name):
            self.addresses.take(address)
            self.names.take(name)
            return Ticket(address, name, charged_name=True)
        if self.addresses.is_full(address):
            # the NAME is under attack, but this address has failed nothing lately: it may be the owner
            self.addresses.take(address)
            return Ticket(address, name, charged_name=False)
        # either the NAME gets a token back or this address comes clean, whichever is first
        wait = min(self.names.seconds_until(name, 1), self.addresses.seconds_until(address, self.addresses.budget.failures))
        return Refused(_whole(wait), "name")

    def settle(self, ticket: Ticket, *, succeeded: bool) -> None:
        """A check that succeeded (or never ran) costs nothing: its reservation comes back."""
        if not succeeded:
            return
        self.addresses.give_back(ticket.address)
        if ticket.charged_name:
            self.names.give_back(ticket.name)


def _whole(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def address_key(address: str) -> str:
    """The budget key of a client address: IPv4 as is, IPv6 by its /64 (one host usually holds a whole /64)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address  # a Unix socket or an unknown peer: one key for all of them
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def parse_networks(text: str) -> Networks:
    """``"10.0.0.1, 192.168.0.0/16"`` -> networks; ValueError names the part that is not an address or network."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if part:
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(part) from None
    return tuple(networks)


def client_address(peer: str, forwarded_for: Iterable[str], trusted: Networks) -> str:
    """The address a request came from: the peer, unless the peer is a trusted proxy.

    Behind trusted proxies, ``X-Forwarded-For`` is read from the right (the entry the nearest
    proxy appended) and the first address that is not itself a trusted proxy is the client.
    Entries left of it were written by the client and are never believed.
    """
    if not trusted or not _within(peer, trusted):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        if not _is_address(hop):
            return peer  # a garbled header: the proxy's own address is all we know
        if not _within(hop, trusted):
            return hop
    return peer


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _within(address: str, networks: Networks) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)
