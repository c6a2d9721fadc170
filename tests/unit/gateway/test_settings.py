"""The gateway's limits on failed secret checks, as the environment sets them, and how a 429 reads."""

from __future__ import annotations

import ipaddress

import pytest
import requests

from hubpush import errors
from hubpush.core.ratelimit import DEFAULT_ADDRESS_BUDGET, DEFAULT_NAME_BUDGET, Budget
from hubpush.engine import _raise_if_rate_limited
from hubpush.gateway.refusal import Refusal
from hubpush.gateway.settings import GatewaySettings
from hubpush.hubapi_client import error_from
from hubpush.oci.client import rate_limited

LIMIT_VARIABLES = (
    "HUBPUSH_GATEWAY_ADDRESS_FAILURES",
    "HUBPUSH_GATEWAY_NAME_FAILURES",
    "HUBPUSH_GATEWAY_FAILURE_WINDOW_SECONDS",
    "HUBPUSH_GATEWAY_TRUSTED_PROXIES",
)


@pytest.fixture
def settings(monkeypatch):
    for variable in LIMIT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)

    def make(**env: str) -> GatewaySettings:
        for variable, value in env.items():
            monkeypatch.setenv(variable, value)
        return GatewaySettings.from_flags(upstream="http://r:5000", listen="127.0.0.1:5000")

    return make


def test_the_limits_default_to_ten_per_address_and_thirty_per_name_a_minute(settings):
    found = settings()
    assert (found.address_budget, found.name_budget, found.trusted_proxies) == (DEFAULT_ADDRESS_BUDGET, DEFAULT_NAME_BUDGET, ())
    assert (DEFAULT_ADDRESS_BUDGET.failures, DEFAULT_NAME_BUDGET.failures, DEFAULT_NAME_BUDGET.window) == (10, 30, 60.0)


def test_the_environment_sets_the_limits_and_the_trusted_proxies(settings):
    found = settings(
        HUBPUSH_GATEWAY_ADDRESS_FAILURES="3",
        HUBPUSH_GATEWAY_NAME_FAILURES="7",
        HUBPUSH_GATEWAY_FAILURE_WINDOW_SECONDS="600",
        HUBPUSH_GATEWAY_TRUSTED_PROXIES="10.0.0.5, 192.168.0.0/16",
    )
    assert found.address_budget == Budget(3, 600.0) and found.name_budget == Budget(7, 600.0)
    assert found.trusted_proxies == (ipaddress.ip_network("10.0.0.5"), ipaddress.ip_network("192.168.0.0/16"))


@pytest.mark.parametrize(
    "variable, value",
    [
        ("HUBPUSH_GATEWAY_ADDRESS_FAILURES", "0"),
        ("HUBPUSH_GATEWAY_ADDRESS_FAILURES", "abc"),
        ("HUBPUSH_GATEWAY_NAME_FAILURES", "-3"),
        ("HUBPUSH_GATEWAY_NAME_FAILURES", "1.5"),
        ("HUBPUSH_GATEWAY_FAILURE_WINDOW_SECONDS", "0"),
        ("HUBPUSH_GATEWAY_TRUSTED_PROXIES", "10.0.0.300"),
        ("HUBPUSH_GATEWAY_TRUSTED_PROXIES", "proxy.example"),
    ],
)
def test_bad_values_stop_the_gateway_with_a_sentence_naming_the_variable(settings, variable, value):
    with pytest.raises(errors.HubStartError, match=variable) as refused:
        settings(**{variable: value})
    assert repr(value) in refused.value.message or value in refused.value.message


def test_a_rate_limited_refusal_carries_retry_after():
    answer = Refusal.from_error(errors.RateLimitedError("Try again in 42 seconds.", retry_after=42)).response()
    assert answer.status == 429 and answer.headers["Retry-After"] == "42"
    assert "Retry-After" not in Refusal.from_error(errors.WrongSecretError("wrong")).response().headers


def test_the_cli_turns_every_429_into_exit_39_with_the_hubs_sentence():
    body = {"errors": [{"code": "TOOMANYREQUESTS", "message": "Try again in 9 seconds.", "detail": {"kind": "rate-limited", "exit_code": 39}}]}
    from_hub_api = error_from(body, "fallback.")
    assert isinstance(from_hub_api, errors.RateLimitedError) and from_hub_api.exit_code == 39

    response = requests.Response()
    response.status_code, response._content = 429, b'{"errors": [{"code": "TOOMANYREQUESTS", "message": "Try again in 9 seconds."}]}'
    response.headers["Retry-After"] = "9"
    from_registry = rate_limited(response, "hub:5000")
    assert (from_registry.message, from_registry.retry_after) == ("Try again in 9 seconds.", 9)
    response._content = b"<html>slow down</html>"
    assert "hub:5000" in rate_limited(response, "hub:5000").message and "in 9 seconds" in rate_limited(response, "hub:5000").message

    with pytest.raises(errors.RateLimitedError, match="^Try again in 9 seconds.$"):
        _raise_if_rate_limited('Head "http://hub:5000/v2/x/manifests/latest": toomanyrequests: Try again in 9 seconds.')
    _raise_if_rate_limited("manifest unknown")  # anything else is the caller's to word
