"""The hub API (``/hubpush/v1/...``): what ``hubpush push`` and ``hubpush show`` ask the gateway.

``info`` says a gateway answers here; ``executor`` serves an executor's metadata without its
secret hash; ``push`` checks a push with the very rules the CLI applies against a bare
registry and records its intent under the executor's lock; ``abort`` undoes an intent whose
push failed.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from aiohttp import web

from ... import __version__
from ...core.catalog import SORTS, paged, sorted_listing
from ...core.metadata import ExecutorMetadata, Presentation, new_metadata, presented, updated_metadata, utc_now
from ...core.names import confusable_paths, executor_paths, is_metadata_path, is_repository_path, repository_for_username
from ...core.policy import PushDecision, PushRequest, decide_push, may_pull
from ...core.secrets import hash_secret
from ...errors import InvalidExecutorConfigError, InvalidTagError, PublisherTokenError, SecretRequiredError
from ...hubapi import (
    MAX_DESCRIPTION_LENGTH,
    MAX_KEYWORD_LENGTH,
    MAX_KEYWORDS,
    MAX_README_BYTES,
    PUBLISHER_TOKEN_HEADER,
    SERVICE,
    ExecutorListing,
    HubInfo,
    ListingPage,
    PushAnswer,
    PushCheck,
    RestorePoint,
    decode_body,
    portal_path,
)
from ..access import PUSH
from ..directory import split_path
from ..hub import Hub, hub_of
from ..identity import basic_credentials, deny, identify
from ..refusal import Refusal
from .portal import owned_by_caller, page_number, search_words

#: a first publish must bring a secret at least this long (hubpush generates 43 characters)
MIN_SECRET_LENGTH = 22
#: bounds on what one push adds to the metadata document
MAX_DESCRIPTION = MAX_DESCRIPTION_LENGTH
MAX_TAGS_PER_PUSH = 64
#: hub API bodies are small JSON objects (a README at most 64 KiB): a bound and a deadline keep stalled
#: uploads from holding memory
MAX_BODY_BYTES = 256 << 10
#: answers that may hold a caller's private executors: never stored by a shared cache
PRIVATE_ANSWER = {"Cache-Control": "no-store", "Vary": "Authorization, Cookie", "X-Content-Type-Options": "nosniff"}
BODY_SECONDS = 30


async def info(request: web.Request) -> web.Response:
    """What answers here: a hubpush gateway, its version, and whether publishing needs a token."""
    hub = hub_of(request)
    return web.json_response(HubInfo(SERVICE, __version__, hub.settings.publisher_token is not None).to_json())


async def executor(request: web.Request) -> web.Response:
    """An executor's metadata without its secret hash; private ones need their secret."""
    hub = hub_of(request)
    repository = request.match_info["repository"]
    caller = await identify(hub, request)
    valid = is_repository_path(repository) and not is_metadata_path(repository)
    metadata = await hub.directory.read(repository) if valid else None
    if metadata is None or not may_pull(metadata, proven=caller.proven == repository):
        # one answer for "absent" and "private": names of private executors do not leak
        raise SecretRequiredError(
            f"No executor is visible at {hub.address(request)}/{repository}: it does not exist, "
            "or it is private and needs its secret (--secret)."
        )
    await hub.index.refresh(repository)  # one small request when nothing changed; renders nothing here
    entry = hub.index.get(repository)
    summary = entry.readme_summary if entry else ""
    listing = ExecutorListing(metadata, await hub.directory.tags(repository) or [], summary, portal_url(hub, request, repository))
    return web.json_response(listing.to_json(), headers=PRIVATE_ANSWER)


async def listing(request: web.Request) -> web.Response:
    """``GET /hubpush/v1/executors?sort=recent|name&q=WORDS&page=N``: public executors, plus the caller's own."""
    hub = hub_of(request)
    await hub.index.ready()
    sort = request.query.get("sort", "recent")
    if sort not in SORTS:
        raise Refusal(400, "UNSUPPORTED", f"sort must be 'recent' or 'name', not {sort[:20]!r}.")
    query = search_words(request)
    entries = sorted_listing(hub.index.visible_to(await owned_by_caller(hub, request)), sort, query)
    page = paged(entries, page_number(request))
    address = hub.address(request)
    listed = [entry.listed(address, portal_url(hub, request, entry.repository)) for entry in page.items]
    return web.json_response(ListingPage(listed, page.total, page.number, page.pages, sort, query).to_json(), headers=PRIVATE_ANSWER)


def portal_url(hub: Hub, request: web.Request, repository: str) -> str:
    return f"{hub.public_base(request)}{portal_path(repository)}"


async def begin_push(request: web.Request) -> web.Response:
    """Check a push with the rules and, unless ``dry_run``, record its intent in the metadata.

    The CLI calls this twice: before building (every refusal comes back before any build
    starts) and after building, when the metadata (owner, visibility, protected tags) is
    written under the executor's lock, so no tag is ever pushed unprotected and two first
    publishes of one NAME have exactly one winner.
    """
    hub = hub_of(request)
    repository = request.match_info["repository"]
    check = PushCheck.from_json(await json_body(request))
    _, secret = basic_credentials(request.headers.get("Authorization", "").partition(" ")[2])
    push = _push_request(repository, check, secret)
    if not push.is_update:
        _check_publisher(hub, request)
    # the check runs without the lock (a dry run is nothing more), so wrong secrets never make
    # the owner's pushes wait; recording the intent checks again, under the lock (the secret
    # then comes from the cache of verified pairs: scrypt runs once per push)
    current, decision = await _decide(hub, request, repository, push)
    restore = None
    if not check.dry_run:
        async with hub.directory.lock(repository):
            current, decision = await _decide(hub, request, repository, push)
            previous = await hub.directory.current_digest(repository)
            metadata = await _intent(hub, current, push, decision, check.description, repository)
            presented(metadata, await _presentation(hub, repository, check))
            intent = await hub.directory.write(repository, metadata)
            restore = _restore_point(hub, repository, previous, intent)
        await hub.index.refresh(repository)
    answer = PushAnswer(
        first_publish=decision.is_first_publish,
        name=current.name if current else push.name,
        tags=decision.tags,
        protected_tags=decision.protected_tags,
        visibility=decision.visibility,
        restore=restore,
    )
    return web.json_response(answer.to_json())


async def abort_push(request: web.Request) -> web.Response:
    """Undo a recorded intent whose push failed: the hub is then exactly as before it.

    Only the executor's secret holder may ask, only with the signed restore point its own
    intent returned, and only while that intent is still the current metadata -- any tag
    pushed since (by anyone) or any later intent rewrote it, and then nothing is undone, so
    protection that may already guard a pushed tag is never taken back.
    """
    hub = hub_of(request)
    repository = request.match_info["repository"]
    point = RestorePoint.from_json(await json_body(request))
    caller = await identify(hub, request)
    if caller.proven != repository or caller.grant is not None:
        raise deny(hub, request, caller, repository, PUSH)
    if not hub.signer.check(_restore_text(repository, point.previous, point.intent), point.signature):
        raise Refusal(400, "DENIED", "This is not a restore point the hub handed out; nothing was undone.")
    if not point.previous:
        # a failed first publish keeps its NAME reserved for the secret holder: its blobs stay in the
        # registry (it has no way to list or delete them), and freeing the NAME would hand them,
        # private layers included, to whoever claims it next
        return web.json_response({"restored": False})
    async with hub.directory.lock(repository):
        untouched = await hub.directory.current_digest(repository) == point.intent and not await _unrecorded_protected(hub, repository)
        restored = untouched and await hub.directory.restore(repository, point.previous)
    await hub.index.refresh(repository)
    return web.json_response({"restored": restored})


async def _decide(hub: Hub, request: web.Request, repository: str, push: PushRequest) -> tuple[ExecutorMetadata | None, PushDecision]:
    """The executor as the registry holds it now, and the rules' decision on ``push``.

    An update's secret is checked within the limits on failed checks (429 before any I/O when
    they are spent); a first publish is checked against the executors whose NAMEs read alike."""
    decide = functools.partial(decide_push, registry=hub.address(request))
    if not push.is_update:
        current = await hub.directory.read(repository)
        rivals = await _rivals(hub, repository) if current is None else []
        return current, decide(push, current, await hub.directory.tags(repository), rivals=rivals)
    if not push.secret:
        current = await hub.directory.read(repository)
        return current, decide(push, current, await hub.directory.tags(repository))
    with hub.directory.checking(repository, push.secret, hub.client(request)) as secret_check:
        current = await hub.directory.read(repository)
        # an update of a NAME that does not exist is refused as such: no scrypt, nothing charged
        matches = current is not None and await secret_check.verify(current)
    return current, decide(push, current, await hub.directory.tags(repository), verify=lambda _secret, _hash: matches)


async def _rivals(hub: Hub, repository: str) -> list[ExecutorMetadata]:
    """The metadata of the executors whose repositories fold like ``repository`` (read from the
    registry's catalog, not the index, which may lag behind pushes other replicas handled)."""
    found = [await hub.directory.read(path) for path in confusable_paths(repository, executor_paths(await hub.registry.catalog()))]
    return [metadata for metadata in found if metadata is not None]


def _push_request(repository: str, check: PushCheck, secret: str) -> PushRequest:
    """The push the body asks for, checked against the repository in the path and the size bounds."""
    namespace, _ = split_path(repository)
    if repository_for_username(f"{namespace}/{check.name}" if namespace else check.name) != repository:
        raise Refusal(400, "NAME_INVALID", f"Executor name {check.name!r} does not belong to repository {repository}.")
    _check_sizes(check)
    return PushRequest(
        name=check.name,
        is_update=check.is_update,
        secret=secret or None,
        tags=check.tags,
        protected_tags=check.protected_tags,
        visibility=check.visibility,
    )


def _restore_point(hub: Hub, repository: str, previous: str | None, intent: str) -> RestorePoint:
    """What an abort may put back, signed so that no client can name another restore point."""
    return RestorePoint(previous, intent, hub.signer.sign(_restore_text(repository, previous, intent)))


def _restore_text(repository: str, previous: object, intent: object) -> str:
    # labelled, so that no signature the key makes for one purpose (tokens) can pass for another
    return f"hubpush-restore-point\0{repository}\0{previous}\0{intent}"


async def _unrecorded_protected(hub: Hub, repository: str) -> list[str]:
    """Protected tags the registry holds but the metadata never recorded: a manifest landed and
    recording it failed. An abort must not take their protection back."""
    metadata = await hub.directory.read(repository)
    if metadata is None:
        return []
    candidates = [tag for tag in metadata.protected_tags if tag not in metadata.tags]
    return [tag for tag in candidates if await hub.directory.tag_exists(repository, tag)]


def _check_publisher(hub: Hub, request: web.Request) -> None:
    if hub.settings.publisher_token is not None and not hub.is_publisher_token(request.headers.get(PUBLISHER_TOKEN_HEADER, "")):
        raise PublisherTokenError(
            "This hub lets only holders of its publisher token create executors: set HUBPUSH_PUBLISHER_TOKEN "
            "(ask the hub's operator for it)."
        )


async def _intent(
    hub: Hub, current: ExecutorMetadata | None, push: PushRequest, decision: PushDecision, description: str, repository: str
) -> ExecutorMetadata:
    """The metadata to record before the push: the current document updated, or a new executor's."""
    if current is not None:
        return updated_metadata(current, decision, description, now=utc_now())
    if not push.secret or len(push.secret) < MIN_SECRET_LENGTH:
        raise Refusal(400, "DENIED", f"A new executor needs a secret of at least {MIN_SECRET_LENGTH} characters.")
    secret_hash = await hub.directory.in_cpu_pool(hash_secret, push.secret)
    return new_metadata(push.name, split_path(repository)[1], decision, secret_hash, description, utc_now())


async def _presentation(hub: Hub, repository: str, check: PushCheck) -> Presentation:
    """The keywords and the README this push brings; the README's blob is stored first."""
    readme = None
    if check.readme:
        readme = await hub.directory.write_readme(repository, check.readme, truncated=check.readme_truncated)
    return Presentation(keywords=check.keywords, readme=readme)


def _check_sizes(check: PushCheck) -> None:
    """Bounds on what one push may add to the metadata, which every catalog call reads."""
    if len(check.description) > MAX_DESCRIPTION:
        raise InvalidExecutorConfigError(
            f"metas.description in config.yml is {len(check.description)} characters; the hub keeps at most {MAX_DESCRIPTION}."
        )
    if len(check.tags) + len(check.protected_tags) > MAX_TAGS_PER_PUSH:
        raise InvalidTagError(f"One push may name at most {MAX_TAGS_PER_PUSH} tags; push them in several runs.")
    if len(check.readme.encode("utf-8")) > MAX_README_BYTES:
        raise InvalidExecutorConfigError(f"The README is over {MAX_README_BYTES} bytes; the hub keeps at most that much.")
    if len(check.keywords) > MAX_KEYWORDS or any(len(k) > MAX_KEYWORD_LENGTH for k in check.keywords):
        raise InvalidExecutorConfigError(
            f"manifest.yml names more than {MAX_KEYWORDS} keywords or one over {MAX_KEYWORD_LENGTH} characters; the hub keeps no more."
        )


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, read with a small bound and a deadline (the hub API takes no big bodies)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise Refusal(413, "SIZE_INVALID", f"A hub API request body is at most {MAX_BODY_BYTES} bytes.")
    try:
        raw = await asyncio.wait_for(_read_at_most(request, MAX_BODY_BYTES + 1), BODY_SECONDS)
    except asyncio.TimeoutError:
        raise Refusal(408, "UNSUPPORTED", f"The request body did not arrive within {BODY_SECONDS} s.") from None
    if len(raw) > MAX_BODY_BYTES:
        raise Refusal(413, "SIZE_INVALID", f"A hub API request body is at most {MAX_BODY_BYTES} bytes.")
    return decode_body(raw)


async def _read_at_most(request: web.Request, limit: int) -> bytes:
    """The body up to ``limit`` bytes (one more than allowed tells "too big" from "just fits")."""
    parts, size = [], 0
    while size < limit:
        chunk = await request.content.read(limit - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)
