"""The registry token service (``/hubpush/v1/token``): what ``docker login`` and ``docker pull`` ask for."""

from __future__ import annotations

from aiohttp import web

from ...core.metadata import utc_now
from ...core.names import is_metadata_path
from ..access import PULL, PUSH, parse_scopes
from ..hub import hub_of
from ..identity import Caller, identify, is_allowed


async def token(request: web.Request) -> web.Response:
    """A bearer token for the scopes asked, limited to what the caller may do.

    No credentials: a token for the public executors in scope. ``NAME``/``SECRET``: also
    pull and push on that executor. Wrong credentials: 401, so ``docker login`` fails.
    """
    hub = hub_of(request)
    caller = await identify(hub, request)
    if caller.grant is not None:  # tokens are not exchanged for tokens
        caller = Caller()
    access: dict[str, frozenset[str]] = {}
    for scope in parse_scopes(request.query.getall("scope", [])):
        if is_metadata_path(scope.repository):
            continue
        wanted = {PULL, PUSH} if "*" in scope.actions else set(scope.actions)
        if scope.repository == caller.proven:
            granted = wanted & {PULL, PUSH}
        elif PULL in wanted and await is_allowed(hub, caller, scope.repository, PULL):
            granted = {PULL}
        else:
            granted = set()
        if granted:
            access[scope.repository] = frozenset(granted)
    issued = hub.signer.issue(caller.proven, access)
    return web.json_response({"token": issued, "access_token": issued, "expires_in": hub.signer.ttl, "issued_at": utc_now()})
