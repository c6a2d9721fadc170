"""The registry token service (``/hubpush/v1/token``): what ``docker login`` and ``docker pull`` ask for;
and access tokens (``/hubpush/v1/access-tokens``), which let one docker login pull several executors."""

from __future__ import annotations

from aiohttp import web

from ...core.metadata import utc_now
from ...core.names import is_metadata_path
from ...errors import WrongSecretError
from ...hubapi import AccessTokenAnswer, AccessTokenRequest
from ..access import PULL, PUSH, parse_scopes
from ..hub import hub_of
from ..identity import Caller, access_caller, identify, is_allowed
from ..refusal import Refusal
from .hub_api import json_body

#: the OAuth2 form docker posts when its credentials are an identity token (``<token>`` user name)
MAX_FORM_BYTES = 16 << 10


async def token(request: web.Request) -> web.Response:
    """A bearer token for the scopes asked, limited to what the caller may do.

    No credentials: a token for the public executors in scope. ``NAME``/``SECRET``: also
    pull and push on that executor. Wrong credentials: 401, so ``docker login`` fails.
    """
    hub = hub_of(request)
    caller = await identify(hub, request)
    if caller.grant is not None:  # tokens are not exchanged for tokens
        caller = Caller()
    return await _grant(request, caller, request.query.getall("scope", []))


async def oauth_token(request: web.Request) -> web.Response:
    """The OAuth2 form of the token service, which docker uses with an identity token: an access token
    as ``refresh_token`` (what Jina's ``docker-credential-jina-hubble`` hands docker as ``<token>``)."""
    hub = hub_of(request)
    if request.content_length is None or request.content_length > MAX_FORM_BYTES:
        raise Refusal(413, "SIZE_INVALID", f"The token request form must declare its length, at most {MAX_FORM_BYTES} bytes.")
    form = await request.post()
    if form.get("grant_type") != "refresh_token" or not isinstance(form.get("refresh_token"), str):
        raise Refusal(400, "UNSUPPORTED", "This token service takes grant_type=refresh_token with an access token from 'hubpush token'.")
    caller = access_caller(hub, request, str(form["refresh_token"]))
    scopes = [str(value) for value in form.getall("scope", [])]
    return await _grant(request, caller, [part for value in scopes for part in value.split(" ") if part])


async def _grant(request: web.Request, caller: Caller, scopes: list[str]) -> web.Response:
    hub = hub_of(request)
    access: dict[str, frozenset[str]] = {}
    for scope in parse_scopes(scopes):
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


async def access_token(request: web.Request) -> web.Response:
    """An access token for the executors whose NAME and SECRET the caller proves, each of them."""
    hub = hub_of(request)
    asked = AccessTokenRequest.from_json(await json_body(request))
    proven: set[str] = set()
    for name, secret in asked.executors:
        path = await hub.directory.prove(name, secret, hub.client(request))
        if path is None:
            raise WrongSecretError(f"Incorrect NAME or SECRET for {name!r}: an access token needs each executor's own secret.")
        proven.add(path)
    repositories = sorted(proven)
    issued, expires = hub.signer.issue_access(repositories, asked.hours)
    answer = AccessTokenAnswer(issued, repositories, expires)
    return web.json_response(answer.to_json(), headers={"Cache-Control": "no-store"})
