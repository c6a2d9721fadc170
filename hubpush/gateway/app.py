"""The gateway's HTTP surface: the OCI distribution API, the token service and the hub API.

Every ``/v2/`` request is parsed into the repository it touches and the permission it
needs (:mod:`.access`), the caller is identified (anonymous, ``NAME``/``SECRET`` over
Basic auth, or a bearer token from ``/hubpush/v1/token``), and the request is then
either refused with an OCI error body or streamed to and from the registry unchanged.
Manifest PUTs are the one write that is interpreted: under the executor's lock, the
protected-tag rule runs and the pushed tag is recorded in the metadata.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hmac
import json
import logging
import re
import socket
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from .. import __version__
from ..errors import (
    ConflictingFlagsError,
    ExecutorNotFoundError,
    HubpushError,
    HubStartError,
    InvalidExecutorConfigError,
    InvalidExecutorNameError,
    InvalidTagError,
    MetadataCorruptError,
    NameTakenError,
    ProtectedTagError,
    PublisherTokenError,
    RegistryError,
    RegistryUnreachableError,
    SecretRequiredError,
    WrongSecretError,
)
from ..core.metadata import ExecutorMetadata, Visibility, utc_now
from ..core.names import is_metadata_path, is_repository_path, repository_for_username
from ..core.policy import PushRequest, check_tag_write, decide_push, may_pull
from ..core.secrets import hash_secret
from .access import PULL, PUSH, Kind, Target, parse_scopes, parse_target, required_action
from .directory import ExecutorDirectory, split_path
from .settings import GatewaySettings
from .tokens import Grant, TokenSigner

log = logging.getLogger("hubpush.gateway")

SERVICE = "hubpush-gateway"
TOKEN_SERVICE = "hubpush"
CHUNK_BYTES = 1 << 20
MAX_MANIFEST_BYTES = 4 << 20
#: a first publish must bring a secret at least this long (hubpush generates 43 characters)
MIN_SECRET_LENGTH = 22
#: bounds on what one push adds to the metadata document
MAX_DESCRIPTION = 4096
MAX_TAGS_PER_PUSH = 64
_HOP_BY_HOP = frozenset(
    ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"]
)
# the registry builds upload URLs from X-Forwarded-*/Forwarded: without them it names itself,
# and the gateway rewrites that to its own public address (a TLS proxy's headers stay with us)
_NOT_FORWARDED = _HOP_BY_HOP | {"host", "authorization", "forwarded", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-forwarded-for"}
# OCI error code and HTTP status for each refusal the rules can raise
_HTTP_FOR_ERROR: dict[type[HubpushError], tuple[int, str]] = {
    ExecutorNotFoundError: (404, "NAME_UNKNOWN"),
    NameTakenError: (409, "DENIED"),
    SecretRequiredError: (401, "UNAUTHORIZED"),
    WrongSecretError: (403, "DENIED"),
    ProtectedTagError: (412, "DENIED"),
    PublisherTokenError: (403, "DENIED"),
    InvalidExecutorNameError: (400, "NAME_INVALID"),
    InvalidExecutorConfigError: (400, "UNSUPPORTED"),
    InvalidTagError: (400, "TAG_INVALID"),
    ConflictingFlagsError: (400, "UNSUPPORTED"),
    MetadataCorruptError: (500, "UNKNOWN"),
}  # registry failures never get here: the middleware answers them with a 502 that hides the registry's address


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the executor they proved (``""`` if none) and their token, if any."""

    proven: str = ""
    grant: Grant | None = None
    #: the caller sent credentials at all (decides 401 "log in" versus 403 "not yours")
    authenticated: bool = False

    def may(self, repository: str, action: str) -> bool | None:
        """True/False when the credentials alone decide; None when visibility must be looked up."""
        if self.grant is not None:
            return self.grant.allows(repository, action)
        if self.proven == repository:
            return True
        return None if action == PULL else False


class Refusal(Exception):
    """A request the gateway answers itself, with an OCI error body."""

    def __init__(self, status: int, code: str, message: str, *, detail: dict[str, Any] | None = None, challenge: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.detail, self.challenge = status, code, message, detail or {}, challenge

    @classmethod
    def from_error(cls, exc: HubpushError, **detail: Any) -> Refusal:
        status, code = next(
            (found for kind, found in _HTTP_FOR_ERROR.items() if isinstance(exc, kind)), (400, "DENIED")
        )
        return cls(status, code, exc.message, detail={"kind": exc.kind, "exit_code": exc.exit_code, **detail})

    def response(self) -> web.Response:
        headers = {"Docker-Distribution-API-Version": "registry/2.0"}
        if self.challenge:
            headers["WWW-Authenticate"] = self.challenge
        body = {"errors": [{"code": self.code, "message": self.message, "detail": self.detail}]}
        return web.json_response(body, status=self.status, headers=headers)


class Gateway:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.directory = ExecutorDirectory(settings.upstream)
        self.signer = TokenSigner(settings.token_key)
        self._session: aiohttp.ClientSession | None = None

    # --- application ----------------------------------------------------------------
    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_MANIFEST_BYTES, middlewares=[self._refusals])
        app.router.add_get("/hubpush/v1/info", self.info)
        app.router.add_get("/hubpush/v1/token", self.token)
        app.router.add_post("/hubpush/v1/executors/{repository:.+}/push", self.begin_push)
        app.router.add_post("/hubpush/v1/executors/{repository:.+}/abort", self.abort_push)
        app.router.add_get("/hubpush/v1/executors/{repository:.+}", self.executor)
        app.router.add_route("*", "/v2", self.distribution)
        app.router.add_route("*", "/v2/{tail:.*}", self.distribution)
        app.on_startup.append(self._open)
        app.on_cleanup.append(self._close)
        return app

    async def _open(self, _: web.Application) -> None:
        self._session = aiohttp.ClientSession(
            auto_decompress=False,
            connector=aiohttp.TCPConnector(limit=256),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300),
        )

    async def _close(self, _: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "the application is not started"
        return self._session

    @web.middleware
    async def _refusals(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Refusals and rule errors become OCI error bodies in this one place."""
        try:
            response: web.StreamResponse = await handler(request)
            response.headers.setdefault("Hubpush-Gateway", __version__)
            return response
        except Refusal as refusal:
            response = refusal.response()
        except (RegistryUnreachableError, RegistryError) as exc:
            response = _unavailable(exc).response()
        except HubpushError as exc:
            response = Refusal.from_error(exc).response()
        response.headers["Hubpush-Gateway"] = __version__
        return response

    def public_base(self, request: web.Request) -> str:
        """The gateway's own URL as the client reached it (for token realms and Locations)."""
        if self.settings.public_url:
            return self.settings.public_url
        scheme = request.headers.get("X-Forwarded-Proto", request.scheme)
        return f"{scheme}://{request.host}"

    def challenge(self, request: web.Request, scope: str = "", error: str = "") -> str:
        value = f'Bearer realm="{self.public_base(request)}/hubpush/v1/token",service="{TOKEN_SERVICE}"'
        if scope:
            value += f',scope="{scope}"'
        if error:
            value += f',error="{error}"'
        return value

    # --- identity -----------------------------------------------------------------------
    async def identify(self, request: web.Request) -> Caller:
        """Anonymous, Basic ``NAME:SECRET``, or a bearer token; wrong credentials are refused."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            grant = self.signer.verify(value.strip())
            if grant is None:
                raise Refusal(401, "UNAUTHORIZED", "The token is invalid or expired; log in again.", challenge=self.challenge(request))
            return Caller(proven=grant.subject, grant=grant, authenticated=bool(grant.subject))
        if scheme.lower() == "basic":
            username, secret = _basic_credentials(value)
            proven = await self.directory.prove(username, secret)
            if proven is None:
                raise Refusal(
                    401,
                    "UNAUTHORIZED",
                    "Incorrect NAME or SECRET: log in with the executor's NAME as user name and its SECRET as password.",
                    detail={"kind": WrongSecretError.kind, "exit_code": WrongSecretError.exit_code},
                    challenge=self.challenge(request),
                )
            return Caller(proven=proven, authenticated=True)
        return Caller()

    async def may(self, caller: Caller, repository: str, action: str) -> bool:
        decided = caller.may(repository, action)
        if decided is not None:
            return decided
        metadata = await self.directory.read(repository)
        return metadata is not None and may_pull(metadata, proven=False)

    def deny(self, request: web.Request, caller: Caller, repository: str, action: str) -> Refusal:
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
                challenge=self.challenge(request, scope),
            )
        why = "" if action == PULL else " (pushing needs that executor's own NAME and SECRET; new executors are published with hubpush push)"
        return Refusal(
            403,
            "DENIED",
            f"Access to {what} {repository} is denied for these credentials{why}.",
            detail={"repository": repository, "action": action},
            challenge=self.challenge(request, scope, "insufficient_scope"),
        )

    # --- hub API ------------------------------------------------------------------------
    async def info(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"service": SERVICE, "version": __version__, "publisher_token_required": self.settings.publisher_token is not None}
        )

    async def token(self, request: web.Request) -> web.Response:
        """The registry token service: what ``docker login``/``docker pull`` ask for.

        No credentials: a token for the public executors in scope. ``NAME``/``SECRET``: also
        pull and push on that executor. Wrong credentials: 401, so ``docker login`` fails.
        """
        caller = await self.identify(request)
        if caller.grant is not None:  # tokens are not exchanged for tokens
            caller = Caller()
        access: dict[str, frozenset[str]] = {}
        for scope in parse_scopes(request.query.getall("scope", [])):
            if is_metadata_path(scope.repository):
                continue
            wanted = {PULL, PUSH} if "*" in scope.actions else set(scope.actions)
            if scope.repository == caller.proven:
                granted = wanted & {PULL, PUSH}
            elif PULL in wanted and await self.may(caller, scope.repository, PULL):
                granted = {PULL}
            else:
                granted = set()
            if granted:
                access[scope.repository] = frozenset(granted)
        token = self.signer.issue(caller.proven, access)
        return web.json_response(
            {"token": token, "access_token": token, "expires_in": self.signer.ttl, "issued_at": utc_now()}
        )

    async def executor(self, request: web.Request) -> web.Response:
        """An executor's metadata without its secret hash; private ones need their secret."""
        repository = request.match_info["repository"]
        caller = await self.identify(request)
        valid = is_repository_path(repository) and not is_metadata_path(repository)
        metadata = await self.directory.read(repository) if valid else None
        if metadata is None or not may_pull(metadata, proven=caller.proven == repository):
            # one answer for "absent" and "private": names of private executors do not leak
            raise SecretRequiredError(
                f"No executor is visible at {self.address(request)}/{repository}: it does not exist, "
                "or it is private and needs its secret (--secret)."
            )
        view = json.loads(metadata.to_json())
        del view["secret_hash"]
        view["registry_tags"] = sorted(await self.directory.tags(repository) or [])
        return web.json_response(view)

    async def begin_push(self, request: web.Request) -> web.Response:
        """Check a push with the rules and, unless ``dry_run``, record its intent in the metadata.

        The CLI calls this twice: before building (every refusal comes back before any build
        starts) and after building, when the metadata (owner, visibility, protected tags) is
        written under the executor's lock, so no tag is ever pushed unprotected and two first
        publishes of one NAME have exactly one winner.
        """
        repository = request.match_info["repository"]
        body = await _json_body(request)
        _, secret = _basic_credentials(request.headers.get("Authorization", "").partition(" ")[2])
        name = str(body.get("name", ""))
        namespace, _ = split_path(repository)
        if repository_for_username(f"{namespace}/{name}" if namespace else name) != repository:
            raise Refusal(400, "NAME_INVALID", f"Executor name {name!r} does not belong to repository {repository}.")
        try:
            push = PushRequest(
                name=name,
                is_update=bool(body.get("is_update")),
                secret=secret or None,
                tags=[str(t) for t in body.get("tags") or []],
                protected_tags=[str(t) for t in body.get("protected_tags") or []],
                visibility=Visibility(body["visibility"]) if body.get("visibility") else None,
            )
        except (ValueError, TypeError):
            raise Refusal(400, "UNSUPPORTED", "The push request is malformed: tags must be lists and visibility public or private.") from None
        _check_sizes(push, body)
        if not push.is_update:
            self._check_publisher(request)
        decide = functools.partial(decide_push, registry=self.address(request))
        # the check runs without the lock (a dry run is nothing more), so wrong secrets never make
        # the owner's pushes wait; recording the intent checks again, under the lock
        current = await self.directory.read(repository)
        decision = await self.directory.run_slow(decide, push, current, await self.directory.tags(repository))
        restore = None
        if not body.get("dry_run"):
            async with self.directory.lock(repository):
                current = await self.directory.read(repository)
                decision = await self.directory.run_slow(decide, push, current, await self.directory.tags(repository))
                previous = await self.directory.current_digest(repository)
                metadata = await self._intent(current, push, decision.protected_tags, decision.visibility, body, repository)
                intent = await self.directory.write(repository, metadata)
                restore = self._restore_point(repository, previous, intent)
        return web.json_response(
            {
                "first_publish": decision.is_first_publish,
                "name": current.name if current else name,
                "tags": decision.tags,
                "protected_tags": decision.protected_tags,
                "visibility": decision.visibility.value,
                "restore": restore,
            }
        )

    def _restore_point(self, repository: str, previous: str | None, intent: str) -> dict[str, str | None]:
        """What an abort may put back, signed so that no client can name another restore point."""
        return {"previous": previous, "intent": intent, "signature": self.signer.sign(f"{repository}\0{previous}\0{intent}")}

    async def abort_push(self, request: web.Request) -> web.Response:
        """Undo a recorded intent whose push failed: the hub is then exactly as before it.

        Only the executor's secret holder may ask, only with the signed restore point its own
        intent returned, and only while that intent is still the current metadata -- any tag
        pushed since (by anyone) or any later intent rewrote it, and then nothing is undone, so
        protection that may already guard a pushed tag is never taken back.
        """
        repository = request.match_info["repository"]
        body = await _json_body(request)
        caller = await self.identify(request)
        if caller.proven != repository or caller.grant is not None:
            raise self.deny(request, caller, repository, PUSH)
        previous, intent = body.get("previous"), body.get("intent")
        signed = f"{repository}\0{previous}\0{intent}"
        if not isinstance(intent, str) or not self.signer.check(signed, str(body.get("signature", ""))):
            raise Refusal(400, "DENIED", "This is not a restore point the hub handed out; nothing was undone.")
        async with self.directory.lock(repository):
            untouched = await self.directory.current_digest(repository) == intent and not await self._unrecorded_protected(repository)
            restored = untouched and await self.directory.restore(repository, str(previous) if previous else None)
        return web.json_response({"restored": restored})

    async def _unrecorded_protected(self, repository: str) -> list[str]:
        """Protected tags the registry holds but the metadata never recorded: a manifest landed and
        recording it failed. An abort must not take their protection back."""
        metadata = await self.directory.read(repository)
        if metadata is None:
            return []
        candidates = [tag for tag in metadata.protected_tags if tag not in metadata.tags]
        return [tag for tag in candidates if await self.directory.tag_exists(repository, tag)]

    def _check_publisher(self, request: web.Request) -> None:
        expected = self.settings.publisher_token
        given = request.headers.get("X-Hubpush-Publisher-Token", "")
        if expected is not None and not hmac.compare_digest(given.encode(), expected.encode()):
            raise PublisherTokenError(
                "This hub lets only holders of its publisher token create executors: set HUBPUSH_PUBLISHER_TOKEN "
                "(ask the hub's operator for it)."
            )

    async def _intent(
        self,
        current: ExecutorMetadata | None,
        push: PushRequest,
        protected: list[str],
        visibility: Visibility,
        body: dict[str, Any],
        repository: str,
    ) -> ExecutorMetadata:
        description = str(body.get("description") or "")
        if current is not None:
            current.visibility = visibility
            current.protected_tags = protected
            current.description = description or current.description
            current.updated_at = utc_now()
            return current
        if not push.secret or len(push.secret) < MIN_SECRET_LENGTH:
            raise Refusal(400, "DENIED", f"A new executor needs a secret of at least {MIN_SECRET_LENGTH} characters.")
        now = utc_now()
        return ExecutorMetadata(
            name=push.name,
            repository=split_path(repository)[1],
            visibility=visibility,
            secret_hash=await self.directory.run_slow(hash_secret, push.secret),
            created_at=now,
            updated_at=now,
            description=description,
            protected_tags=protected,
        )

    def address(self, request: web.Request) -> str:
        return URL(self.public_base(request)).raw_authority

    # --- distribution API ---------------------------------------------------------------
    async def distribution(self, request: web.Request) -> web.StreamResponse:
        # decide on the very bytes the registry will see: no repository or reference needs
        # percent-encoding, and a '#' would be cut off as a fragment on the way upstream
        raw_path = request.raw_path.partition("?")[0]
        target = parse_target(raw_path) if "%" not in raw_path and "#" not in request.raw_path else None
        if target is None:
            raise Refusal(404, "UNSUPPORTED", f"{request.path} is not part of the OCI distribution API.")
        caller = await self.identify(request)
        if target.kind is Kind.BASE:
            if not caller.authenticated and caller.grant is None:
                # the challenge tells docker and oras where tokens come from
                raise Refusal(401, "UNAUTHORIZED", "Authentication required.", challenge=self.challenge(request))
            return web.json_response({}, headers={"Docker-Distribution-API-Version": "registry/2.0"})
        if target.kind is Kind.CATALOG:
            return await self.catalog(request, caller)
        if is_metadata_path(target.repository):
            raise Refusal(
                403,
                "DENIED",
                f"{target.repository} holds hubpush metadata, which only the gateway writes and serves; "
                "use 'hubpush show' to read it.",
                detail={"repository": target.repository},
            )
        action = required_action(target, request.method)
        if action is None:
            raise Refusal(
                405, "UNSUPPORTED", f"{request.method} on {target.kind.value}s is not allowed through the hub (tags are never deleted)."
            )
        if not await self.may(caller, target.repository, action):
            raise self.deny(request, caller, target.repository, action)
        if target.kind is Kind.MANIFEST and action == PUSH:
            return await self.put_manifest(request, target)
        if target.kind is Kind.UPLOAD:
            return await self.upload(request, caller)
        return await self.forward(request)

    async def upload(self, request: web.Request, caller: Caller) -> web.StreamResponse:
        """Blob upload requests, with the two ways they could read another repository closed."""
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            # the registry reads mount/from/digest from a form body too (Go's FormValue), where the
            # gateway would not see them; no OCI client sends one
            raise Refusal(415, "UNSUPPORTED", "Blob upload parameters belong in the query string, not in a form body.")
        sources = request.query.getall("from", [])
        if "mount" in request.query or sources:
            if len(sources) == 1 and await self.may(caller, sources[0], PULL):
                return await self.forward(request)
            # a cross-repository mount reads the other repository: without pull rights there, upload instead
            query = {key: value for key, value in request.query.items() if key not in ("mount", "from")}
            return await self.forward(request, query=query)
        return await self.forward(request)

    async def put_manifest(self, request: web.Request, target: Target) -> web.StreamResponse:
        """The protected-tag rule and the tag history, applied to every manifest PUT, one at a time per executor."""
        body = await request.read()
        repository = target.repository
        async with self.directory.lock(repository):
            metadata = await self.directory.read(repository)
            if metadata is None:
                raise Refusal(
                    403, "DENIED", f"{repository} is not a published executor; publish it with 'hubpush push' first."
                )
            if target.is_tag:
                try:
                    check_tag_write(metadata, target.reference, await self.directory.tag_exists(repository, target.reference))
                except ProtectedTagError as exc:
                    raise Refusal.from_error(exc, repository=repository, tag=target.reference) from None
            status, headers, answer = await self._send_small(request, body)
            if status == 201 and target.is_tag:
                digest = headers.get("Docker-Content-Digest", "")
                metadata.record_push([target.reference], digest, utc_now())
                try:
                    await self.directory.write(repository, metadata)
                except HubpushError as exc:  # the tag moved; its protection still holds through the registry's tag list
                    log.error("could not record %s:%s in the metadata: %s", repository, target.reference, exc.message)
        return web.Response(status=status, headers=self._response_headers(headers, request), body=answer)

    async def catalog(self, request: web.Request, caller: Caller) -> web.Response:
        """Public executors, plus the caller's own; never metadata repositories or non-executors."""
        names = [name for name in await self._upstream_catalog() if not is_metadata_path(name)]
        limit = asyncio.Semaphore(16)

        async def visible(name: str) -> bool:
            async with limit:
                visibility = await self.directory.visibility(name)
                return visibility is not None and (caller.may(name, PULL) is True or visibility is Visibility.PUBLIC)

        shown = [name for name, ok in zip(names, await asyncio.gather(*(visible(n) for n in names)), strict=True) if ok]
        last = request.query.get("last", "")
        shown = [name for name in shown if name > last] if last else shown
        headers = {}
        size = request.query.get("n", "")
        if re.fullmatch(r"[0-9]{1,9}", size) and int(size) < len(shown):
            shown = shown[: int(size)]
            if shown:
                headers["Link"] = f'</v2/_catalog?n={size}&last={shown[-1]}>; rel="next"'
        return web.json_response({"repositories": shown}, headers=headers)

    async def _upstream_catalog(self) -> list[str]:
        names: list[str] = []
        url: str | None = f"{self.settings.upstream}/v2/_catalog?n=1000"
        while url:
            try:
                async with self.session.get(url) as response:
                    if response.status != 200:
                        raise _unavailable(RegistryError(f"catalog answered HTTP {response.status}"))
                    names.extend((await response.json()).get("repositories") or [])
                    link = response.links.get("next")
                    url = str(URL(self.settings.upstream).join(link["url"])) if link else None  # type: ignore[arg-type]
            except aiohttp.ClientError as exc:
                raise _unavailable(exc) from None
        return names

    # --- streaming ----------------------------------------------------------------------
    def _upstream_request(self, request: web.Request, query: dict[str, str] | None) -> tuple[URL, CIMultiDict[str]]:
        url = URL(self.settings.upstream + request.raw_path, encoded=True)
        if query is not None:
            url = url.with_query(query)
        # a multi-dict: docker sends one Accept header per manifest type it understands
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED)
        return url, headers

    def _response_headers(self, upstream_headers: Any, request: web.Request) -> CIMultiDict[str]:
        headers = CIMultiDict((k, v) for k, v in upstream_headers.items() if k.lower() not in _HOP_BY_HOP)
        location = headers.get("Location")
        if location and location.startswith(self.settings.upstream):
            # the registry names itself in upload URLs; clients must come back through the gateway.
            # Redirects elsewhere (object storage) pass through untouched.
            headers["Location"] = self.public_base(request) + location[len(self.settings.upstream) :]
        return headers

    async def forward(self, request: web.Request, *, query: dict[str, str] | None = None) -> web.StreamResponse:
        """Stream the request to the registry and its answer back, a chunk at a time.

        Bodies are never held whole: answers (pulls) pass through in pieces of up to
        CHUNK_BYTES, request bodies (pushes) in the pieces the client sends, with aiohttp's
        flow control pausing whichever side is faster. Range requests, chunked uploads and
        redirects pass through as the registry answers them.
        """
        url, headers = self._upstream_request(request, query)
        data = request.content if request.body_exists else None
        response: web.StreamResponse | None = None
        try:
            async with self.session.request(request.method, url, headers=headers, data=data, allow_redirects=False) as upstream:
                response = web.StreamResponse(status=upstream.status, headers=self._response_headers(upstream.headers, request))
                await response.prepare(request)
                if request.method != "HEAD":
                    async for chunk in upstream.content.iter_chunked(CHUNK_BYTES):
                        await response.write(chunk)
                await response.write_eof()
                return response
        except aiohttp.ClientError as exc:
            if response is not None:
                raise  # the answer has started: all that is left is to drop the connection
            raise _unavailable(exc) from None

    async def _send_small(self, request: web.Request, body: bytes) -> tuple[int, Any, bytes]:
        url, headers = self._upstream_request(request, None)
        try:
            async with self.session.request(request.method, url, headers=headers, data=body, allow_redirects=False) as upstream:
                return upstream.status, upstream.headers.copy(), await upstream.read()
        except aiohttp.ClientError as exc:
            raise _unavailable(exc) from None


def _check_sizes(push: PushRequest, body: dict[str, Any]) -> None:
    """Bounds on what one push may add to the metadata, which every catalog call reads."""
    description = str(body.get("description") or "")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidExecutorConfigError(
            f"metas.description in config.yml is {len(description)} characters; the hub keeps at most {MAX_DESCRIPTION}."
        )
    if len(push.tags) + len(push.protected_tags) > MAX_TAGS_PER_PUSH:
        raise InvalidTagError(f"One push may name at most {MAX_TAGS_PER_PUSH} tags; push them in several runs.")


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Refusal(400, "UNSUPPORTED", "The request body must be a JSON object.")
    return body


def _unavailable(exc: Exception) -> Refusal:
    """The registry failed us; its internal address and the details go to the log only."""
    log.error("the registry behind the gateway failed: %s", exc)
    return Refusal(502, "UNAVAILABLE", "The registry behind the hub does not answer; try again, or tell the hub's operator.")


def _basic_credentials(value: str) -> tuple[str, str]:
    try:
        username, _, secret = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return username, secret


def serve(settings: GatewaySettings, on_ready: Any = None) -> None:
    """Run the gateway until interrupted."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET) as probe:
            probe.bind((settings.host, settings.port))
    except OSError as exc:
        raise HubStartError(
            f"The gateway cannot listen on {settings.host}:{settings.port} ({exc.strerror}); stop what uses it or pick another --listen."
        ) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if settings.ephemeral_key:
        log.warning("no token key configured: tokens are valid only for this process; set one for several replicas")
    web.run_app(
        Gateway(settings).application(),
        host=settings.host,
        port=settings.port,
        print=on_ready,
        access_log=logging.getLogger("hubpush.gateway.access"),
        handle_signals=True,
    )
