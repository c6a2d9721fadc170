"""The OCI distribution API (``/v2/``), proxied to the registry with every decision made first.

Each request is parsed into the repository it touches and the permission it needs
(:mod:`..access`), planned into the exact request the registry will see (:mod:`..forwarding`),
the caller is identified and authorized, and only then is it forwarded. Manifest PUTs are the
one write that is interpreted: under the executor's lock, the protected-tag rule runs and the
pushed tag is recorded in the metadata.
"""

from __future__ import annotations

import dataclasses
import logging
import re

from aiohttp import web

from ...errors import HubpushError, ProtectedTagError
from ...core.metadata import utc_now
from ...core.names import is_metadata_path
from ...core.policy import check_tag_write
from ..access import PULL, PUSH, Kind, Target, parse_target, required_action
from ..forwarding import Incoming, NotUnderstood, Upstream, plan
from ..hub import Hub, hub_of
from ..identity import Caller, deny, identify, is_allowed
from ..refusal import Refusal

log = logging.getLogger("hubpush.gateway")


async def distribution(request: web.Request) -> web.StreamResponse:
    """Every ``/v2`` request."""
    hub = hub_of(request)
    # decide on the very bytes the registry will see: no repository or reference needs
    # percent-encoding, and a '#' would be cut off as a fragment on the way upstream
    raw_path = request.raw_path.partition("?")[0]
    target = parse_target(raw_path) if "%" not in raw_path and "#" not in request.raw_path else None
    if target is None:
        raise Refusal(404, "UNSUPPORTED", f"{request.path} is not part of the OCI distribution API.")
    caller = await identify(hub, request)
    if target.kind is Kind.BASE:
        if not caller.authenticated and caller.grant is None:
            # the challenge tells docker and oras where tokens come from
            raise Refusal(401, "UNAUTHORIZED", "Authentication required.", challenge=hub.challenge(request))
        return web.json_response({}, headers={"Docker-Distribution-API-Version": "registry/2.0"})
    if target.kind is Kind.CATALOG:
        return await catalog(hub, request, caller)
    if is_metadata_path(target.repository):
        raise Refusal(
            403,
            "DENIED",
            f"{target.repository} holds hubpush metadata, which only the gateway writes and serves; use 'hubpush show' to read it.",
            detail={"repository": target.repository},
        )
    action = required_action(target, request.method)
    if action is None:
        raise Refusal(405, "UNSUPPORTED", f"{request.method} on {target.kind.value}s is not allowed through the hub (tags are never deleted).")
    upstream = understood(request, target)
    if not await is_allowed(hub, caller, target.repository, action):
        raise deny(hub, request, caller, target.repository, action)
    if target.kind is Kind.MANIFEST and action == PUSH:
        return await put_manifest(hub, request, target, upstream)
    if target.kind is Kind.UPLOAD:
        upstream = await without_unreadable_mount(hub, caller, upstream)
    return await hub.registry.forward(request, upstream, hub.public_base(request))


def understood(request: web.Request, target: Target) -> Upstream:
    """The request the registry will see, rebuilt from what the gateway parsed (see :mod:`..forwarding`)."""
    incoming = Incoming(request.method, target, request.raw_path.partition("?")[2], tuple(request.raw_headers))
    try:
        return plan(incoming)
    except NotUnderstood as exc:
        raise Refusal(exc.status, exc.code, exc.message) from None


async def without_unreadable_mount(hub: Hub, caller: Caller, upstream: Upstream) -> Upstream:
    """A cross-repository mount reads the other repository: without pull rights there, upload instead."""
    source = dict(upstream.query).get("from")
    if source is None or await is_allowed(hub, caller, source, PULL):
        return upstream
    kept = tuple((key, value) for key, value in upstream.query if key not in ("mount", "from"))
    return dataclasses.replace(upstream, query=kept)


async def put_manifest(hub: Hub, request: web.Request, target: Target, upstream: Upstream) -> web.StreamResponse:
    """The protected-tag rule and the tag history, applied to every manifest PUT, one at a time per executor."""
    body = await request.read()
    repository = target.repository
    async with hub.directory.lock(repository):
        metadata = await hub.directory.read(repository)
        if metadata is None:
            raise Refusal(403, "DENIED", f"{repository} is not a published executor; publish it with 'hubpush push' first.")
        if target.is_tag:
            try:
                check_tag_write(metadata, target.reference, await hub.directory.tag_exists(repository, target.reference))
            except ProtectedTagError as exc:
                raise Refusal.from_error(exc, repository=repository, tag=target.reference) from None
        status, headers, answer = await hub.registry.send_small(upstream, body)
        if status == 201 and target.is_tag:
            metadata.record_push([target.reference], headers.get("Docker-Content-Digest", ""), utc_now())
            try:
                await hub.directory.write(repository, metadata)
            except HubpushError as exc:  # the tag moved; its protection still holds through the registry's tag list
                log.error("could not record %s:%s in the metadata: %s", repository, target.reference, exc.message)
    if status == 201:
        await hub.index.refresh(repository)
    return web.Response(status=status, headers=hub.registry.response_headers(headers, hub.public_base(request)), body=answer)


async def catalog(hub: Hub, request: web.Request, caller: Caller) -> web.Response:
    """Public executors, plus the caller's own; never metadata repositories or non-executors.

    Read from the gateway's index (refreshed every few seconds, at once for pushes it handles),
    so a flood of catalog calls costs the registry nothing."""
    await hub.index.ready()
    # the executor the caller proved (with its secret, or by the token that proof bought)
    owned = {name for name in hub.index.repositories() if name == caller.proven or caller.decided(name, PULL) is True}
    shown = sorted(entry.repository for entry in hub.index.visible_to(owned))
    last = request.query.get("last", "")
    shown = [name for name in shown if name > last] if last else shown
    headers = {}
    size = request.query.get("n", "")
    if re.fullmatch(r"[0-9]{1,9}", size) and int(size) < len(shown):
        shown = shown[: int(size)]
        if shown:
            headers["Link"] = f'</v2/_catalog?n={size}&last={shown[-1]}>; rel="next"'
    return web.json_response({"repositories": shown}, headers=headers)
