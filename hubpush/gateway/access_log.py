"""The gateway's access log: one line per request, except the 429s of a flood, which are counted.

A flood of wrong secrets is answered with thousands of 429s a second. Logged one by one they
would fill the operator's disk and cost the gateway as much CPU as answering them (aiohttp's
line formatting and the logging machinery, measured with cProfile), so they are summed up in
one line every :data:`SUMMARY_SECONDS` instead; which budget was spent, and for whom, is
logged once per window by :mod:`.directory`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.web_log import AccessLogger

SUMMARY_SECONDS = 10.0


@dataclass
class _Quiet:
    """429 answers not yet summed up; shared by the access loggers of all connections (aiohttp makes one each)."""

    count: int = 0
    since: float = 0.0


class GatewayAccessLog(AccessLogger):
    """aiohttp's access log, with 429 answers counted rather than written (see the module)."""

    clock: Callable[[], float] = time.monotonic
    quiet = _Quiet()

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if response.status != 429:
            super().log(request, response, time)
            return
        quiet, now = self.quiet, type(self).clock()
        if quiet.count == 0:
            quiet.since = now
        quiet.count += 1
        if now - quiet.since >= SUMMARY_SECONDS:
            self.logger.info("%d requests answered 429 (too many failed secret checks) in the last %.0f s", quiet.count, now - quiet.since)
            quiet.count = 0
