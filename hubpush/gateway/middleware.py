"""The gateway's one middleware chain: every refusal and rule error becomes an OCI error body here."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from .. import __version__
from ..errors import HubpushError, RegistryError, RegistryUnreachableError
from . import jina_wire
from .refusal import Refusal
from .upstream import unavailable

#: how long a connection that was just told to retry later stays unread (its 429 is sent at once)
HOLD_SECONDS = 1.0


@web.middleware
async def refusals(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refusals, rule errors and registry failures are answered in this one place: as an OCI
    error body, or under ``/jina`` in the shape Jina's client shows (``readableMessage``)."""
    try:
        response: web.StreamResponse = await handler(request)
        response.headers.setdefault("Hubpush-Gateway", __version__)
        return response
    except Refusal as exc:
        refusal = exc
    except (RegistryUnreachableError, RegistryError) as exc:
        refusal = unavailable(exc)
    except HubpushError as exc:
        refusal = Refusal.from_error(exc)
    if request.path.startswith(jina_wire.PREFIX + "/"):
        headers = {"Retry-After": str(refusal.retry_after)} if refusal.retry_after else None
        answer = web.json_response(jina_wire.refusal_body(refusal.message, refusal.detail), status=refusal.status, headers=headers)
    else:
        answer = refusal.response()
    answer.headers["Hubpush-Gateway"] = __version__
    if answer.status == 429:
        await hold(request, answer)
    return answer


async def hold(request: web.Request, answer: web.StreamResponse) -> None:
    """Send a 429 at once, then leave its connection unread for a moment.

    A client told to retry in N seconds that asks again at once gets its next answer a second
    later, so 100 connections of a flood send 100 requests a second, not thousands: each of
    them would otherwise take a turn of the event loop before every ``await`` of every other
    request, the owner's included. Other connections are not held."""
    await answer.prepare(request)
    await answer.write_eof()
    await asyncio.sleep(HOLD_SECONDS)


MIDDLEWARES = [refusals]
