"""The gateway's one middleware chain: every refusal and rule error becomes an OCI error body here."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import __version__
from ..errors import HubpushError, RegistryError, RegistryUnreachableError
from .refusal import Refusal
from .upstream import unavailable


@web.middleware
async def refusals(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refusals, rule errors and registry failures are answered in this one place."""
    try:
        response: web.StreamResponse = await handler(request)
        response.headers.setdefault("Hubpush-Gateway", __version__)
        return response
    except Refusal as refusal:
        answer = refusal.response()
    except (RegistryUnreachableError, RegistryError) as exc:
        answer = unavailable(exc).response()
    except HubpushError as exc:
        answer = Refusal.from_error(exc).response()
    answer.headers["Hubpush-Gateway"] = __version__
    return answer


MIDDLEWARES = [refusals]
