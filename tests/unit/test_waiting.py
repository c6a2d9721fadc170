"""What a push does while the engine says nothing, and the configurable waits (pure: a generator stands in for the engine's stream)."""

from __future__ import annotations

import time

import pytest
import requests

from hubpush.config import TIMEOUT_ENV, request_timeout
from hubpush.engine import STALLED, watched
from hubpush.errors import ConflictingFlagsError
from hubpush.oci.client import _upstream_failure


def slow(*pauses: float):
    for number, pause in enumerate(pauses):
        time.sleep(pause)
        yield {"status": f"step {number}"}


def test_silence_is_reported_every_few_seconds_then_given_up():
    heard: list[float] = []
    started = time.monotonic()
    items = list(watched(slow(0, 5), stall=0.5, on_quiet=heard.append, every=0.1))
    assert items == [{"status": "step 0"}, STALLED]
    assert 0.5 <= time.monotonic() - started < 2
    assert len(heard) >= 3 and heard == sorted(heard)


def test_a_stream_that_keeps_talking_is_never_stalled():
    items = list(watched(slow(0.05, 0.05, 0.05, 0.05), stall=0.2, on_quiet=lambda _: None, every=0.05))
    assert [item["status"] for item in items] == ["step 0", "step 1", "step 2", "step 3"]


def test_an_error_of_the_stream_is_raised_to_the_caller():
    def broken():
        yield {"status": "one"}
        raise requests.exceptions.ConnectionError("engine gone")

    with pytest.raises(requests.exceptions.ConnectionError):
        list(watched(broken(), stall=5, on_quiet=lambda _: None))


@pytest.mark.parametrize("raw", ["abc", "0", "-3", "1e9"])
def test_a_bad_wait_is_refused_with_its_name(monkeypatch, raw):
    monkeypatch.setenv(TIMEOUT_ENV, raw)
    with pytest.raises(ConflictingFlagsError, match=TIMEOUT_ENV):
        request_timeout()


def test_the_wait_defaults_to_30_seconds_and_can_be_set(monkeypatch):
    monkeypatch.delenv(TIMEOUT_ENV, raising=False)
    assert request_timeout() == 30
    monkeypatch.setenv(TIMEOUT_ENV, "2.5")
    assert request_timeout() == 2.5


def answer(status: int, body: object) -> requests.Response:
    import json

    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    return response


def test_the_hubs_502_for_its_registry_is_told_from_any_other_502():
    from hubpush.gateway.upstream import unavailable

    ours = unavailable(OSError("refused"))
    body = {"errors": [{"code": ours.code, "message": ours.message, "detail": ours.detail}]}
    assert "registry behind the hub" in _upstream_failure(answer(502, body))
    assert _upstream_failure(answer(502, {"errors": [{"message": "proxy", "detail": {}}]})) == ""
    assert _upstream_failure(answer(500, body)) == ""
    assert ours.detail["exit_code"] == 30
