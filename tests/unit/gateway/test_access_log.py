"""The access log writes a line per request, but sums up the 429s of a flood."""

from __future__ import annotations

import logging

from hubpush.gateway import access_log
from hubpush.gateway.access_log import GatewayAccessLog


class Answer:
    def __init__(self, status: int) -> None:
        self.status = status


def test_429s_are_counted_and_summed_up_every_ten_seconds(monkeypatch, caplog):
    now = [100.0]
    monkeypatch.setattr(GatewayAccessLog, "clock", staticmethod(lambda: now[0]))
    monkeypatch.setattr(GatewayAccessLog, "quiet", access_log._Quiet())
    logger = logging.getLogger("test.access")
    connections = [GatewayAccessLog(logger), GatewayAccessLog(logger)]  # aiohttp makes one per connection
    with caplog.at_level(logging.INFO, logger="test.access"):
        for i in range(5000):
            now[0] += 0.001
            connections[i % 2].log(None, Answer(429), 0.0)  # type: ignore[arg-type]
        assert caplog.records == []  # five seconds of flood: nothing yet
        now[0] += 5.1
        connections[0].log(None, Answer(429), 0.0)  # type: ignore[arg-type]
    assert [r.getMessage() for r in caplog.records] == ["5001 requests answered 429 (too many failed secret checks) in the last 10 s"]
