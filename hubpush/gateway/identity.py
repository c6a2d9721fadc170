"""Who sent a request, and whether that caller may pull or push a repository.

Anonymous, ``NAME``/``SECRET`` over Basic auth, or a bearer token from the token service.
Wrong credentials are refused outright; visibility is looked up only when the credentials
alone do not decide.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from aiohttp import web

from ..errors import WrongSecretError
from ..hubapi import ACCESS_TOKEN_PREFIX
from ..core.policy import may_pull
from .access import PULL
from .hub import Hub
from .refusal import Refusal
from .tokens import Grant


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the executor they proved (``""`` if none) and their token, if any."""

    proven: str = ""
    grant: Grant | None = None
    #: the caller sent credentials at all (decides 401 "log in" versus 403 "not yours")
    authenticated: bool = False
    #: the executors an access token lets the caller pull (``hubpush token``)
    readable: frozenset[str] = frozenset()

    def decided(self, repository: str, action: str) -> bool | None:
        """True/False when the credentials alone decide; None when visibility must be looked up."""
        if self.grant is not None:
            return self.grant.allows(repository, action)
        if self.proven == repository or (action == PULL and repository in self.readable):
            return True
        return None if action == PULL else False


async def identify(hub: Hub, request: web.Request) -> Caller:
    """Anonymous, Basic ``NAME:SECRET``, or a bearer token; wrong credentials are refused."""
    if len(request.headers.getall("Authorization", [])) > 1:
        raise Refusal(400, "UNAUTHORIZED", "Send one Authorization header, not several.")
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        grant = hub.signer.verify(value.strip())
        if grant is None:
            raise Refusal(401, "UNAUTHORIZED", "The token is invalid or expired; log in again.", challenge=hub.challenge(request))
        return Caller(proven=grant.subject, grant=grant, authenticated=bool(grant.subject))
    if scheme.lower() == "basic":
        username, secret = basic_credentials(value)
        if secret.startswith(ACCESS_TOKEN_PREFIX):
            return access_caller(hub, request, secret)
        proven = await hub.directory.prove(username, secret, hub.client(request))
        if proven is None:
            raise Refusal(
                401,
                "UNAUTHORIZED",
                "Incorrect NAME or SECRET: log in with the executor's NAME as user name and its SECRET as password.",
                detail={"kind": WrongSecretError.kind, "exit_code": WrongSecretError.exit_code},
                challenge=hub.challenge(request),
            )
        return Caller(proven=proven, authenticated=True)
    return Caller()


def access_caller(hub: Hub, request: web.Request, token: str) -> Caller:
    """The caller an access token makes (any user name goes with it); a bad or expired one is refused."""
    readable = hub.signer.verify_access(token)
    if readable is None:
        raise Refusal(
            401,
            "UNAUTHORIZED",
            "The access token is invalid or expired; make a new one with 'hubpush token' and log in again.",
            challenge=hub.challenge(request),
        )
    return Caller(authenticated=True, readable=readable)


async def is_allowed(hub: Hub, caller: Caller, repository: str, action: str) -> bool:
    """Whether ``caller`` may ``action`` (pull/push) ``repository``, reading visibility if needed."""
    decided = caller.decided(repository, action)
    if decided is not None:
        return decided
    metadata = await hub.directory.read(repository)
    return metadata is not None and may_pull(metadata, proven=False)


def deny(hub: Hub, request: web.Request, caller: Caller, repository: str, action: str) -> Refusal:
    """401 with a challenge for anonymous callers, 403 for callers whose credentials do not cover it.

    The same answer whether the executor is private or does not exist, so names of
    private executors do not leak.
    """
    what = "pull from" if action == PULL else "push to"
    scope = f"repository:{repository}:{action}"
    if not caller.authenticated:
        return Refusal(
            401,
            "UNAUTHORIZED",
            f"Authentication required to {what} {repository}: log in with the executor's NAME and SECRET.",
            detail={"repository": repository, "action": action},
            challenge=hub.challenge(request, scope),
        )
    why = "" if action == PULL else " (pushing needs that executor's own NAME and SECRET; new executors are published with hubpush push)"
    return Refusal(
        403,
        "DENIED",
        f"Access to {what} {repository} is denied for these credentials{why}.",
        detail={"repository": repository, "action": action},
        challenge=hub.challenge(request, scope, "insufficient_scope"),
    )


def basic_credentials(value: str) -> tuple[str, str]:
    """``(username, secret)`` from a Basic auth value; empty strings when it is not base64.

    UTF-8 as RFC 7617 says, else Latin-1 (what curl and requests send for such characters): a
    secret in another encoding is then merely wrong (no generated secret has such characters),
    never taken for no secret at all."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except binascii.Error:
        return "", ""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    username, _, secret = text.partition(":")
    return username, secret
