"""The gateway's one middleware chain: every refusal and rule error becomes an OCI error body here."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import __version__
from ..errors import HubpushError, RegistryError, RegistryUnreachableError
from . import jina_wire
from .refusal import Refusal
from .upstream import unavailable


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
        answer = web.json_response(jina_wire.refusal_body(refusal.message, refusal.detail), status=refusal.status)
    else:
        answer = refusal.response()
    answer.headers["Hubpush-Gateway"] = __version__
    return answer


MIDDLEWARES = [refusals]
