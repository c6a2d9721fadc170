"""The directory's secret checks: admitted before any I/O, cached after success, free when they never ran."""

from __future__ import annotations

import asyncio

import pytest

from hubpush.core.metadata import ExecutorMetadata, Visibility
from hubpush.core.ratelimit import Budget
from hubpush.core.secrets import hash_secret
from hubpush.errors import RateLimitedError, RegistryUnreachableError
from hubpush.gateway.directory import ExecutorDirectory

SECRET = "the-right-secret-of-the-owner-xx"
META = ExecutorMetadata(
    name="Owned", repository="owned", visibility=Visibility.PUBLIC, secret_hash=hash_secret(SECRET), created_at="t", updated_at="t"
)


def directory() -> ExecutorDirectory:
    # nothing here reaches the registry: metadata is handed in as a read would return it
    return ExecutorDirectory("http://registry.invalid:5000", per_address=Budget(2, 3600), per_name=Budget(100, 3600))


async def check(found: ExecutorDirectory, secret: str, client: str = "10.0.0.9") -> bool:
    with found.checking("owned", secret, client) as secret_check:
        return await secret_check.verify(META)


def test_an_address_over_its_budget_is_refused_before_anything_is_read():
    found = directory()
    assert not asyncio.run(check(found, "wrong-1")) and not asyncio.run(check(found, "wrong-2"))
    with pytest.raises(RateLimitedError, match=r"from your address; .* try again in \d+ seconds") as refused:
        with found.checking("owned", "wrong-3", "10.0.0.9"):
            raise AssertionError("the check must be refused before its body runs")
    assert refused.value.retry_after > 1000
    assert asyncio.run(check(found, SECRET, client="10.0.0.10"))  # another address is not affected


def test_a_pair_verified_lately_passes_even_from_an_address_over_its_budget():
    found = directory()
    assert asyncio.run(check(found, SECRET))
    asyncio.run(check(found, "wrong-1"))
    asyncio.run(check(found, "wrong-2"))
    assert asyncio.run(check(found, SECRET))  # the cache: no admission needed
    with pytest.raises(RateLimitedError):
        asyncio.run(check(found, "wrong-3"))


def test_checks_that_never_ran_cost_nothing():
    found = directory()
    for _ in range(5):  # e.g. the registry was down while the metadata was read
        with pytest.raises(RegistryUnreachableError):
            with found.checking("owned", "wrong", "10.0.0.9"):
                raise RegistryUnreachableError("down")
    assert found.limits.addresses.is_full("10.0.0.9")
