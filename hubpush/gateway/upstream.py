"""The registry behind the gateway: one HTTP session, and the requests the gateway sends it.

Every request it sends was planned by :mod:`.forwarding` from what the gateway parsed. Its
answers stream back unchanged, except registry failures: a 5xx body names the registry's
storage paths and a connection error its address, so clients get the gateway's sentence and
the operator's log gets the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from ..errors import RegistryError, RegistryUnreachableError
from .forwarding import Upstream
from .refusal import Refusal

log = logging.getLogger("hubpush.gateway")

CHUNK_BYTES = 1 << 20
POOL_WAIT_SECONDS = 30
#: how long a request without a body (GET, HEAD, DELETE) waits for the registry's next bytes; well
#: below the CLI's own wait (HUBPUSH_TIMEOUT_SECONDS, 30 s), so a hung registry gets the hub's 502
#: naming the registry behind it, not a client timeout naming the hub
ANSWER_SECONDS = 15
ANSWER_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=POOL_WAIT_SECONDS, sock_connect=10, sock_read=ANSWER_SECONDS)
#: in the detail of every 502 the gateway gives when its registry fails: clients tell it from a hub failure
UPSTREAM_DETAIL = {"kind": RegistryUnreachableError.kind, "exit_code": RegistryUnreachableError.exit_code, "component": "registry-behind-hub"}
_HOP_BY_HOP = frozenset(
    ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"]
)


class UpstreamRegistry:
    """The registry the gateway fronts, reached through one connection pool."""

    def __init__(self, url: str, idle_seconds: float = 60.0) -> None:
        self.url = url.rstrip("/")
        #: how long a client may leave a streamed body or answer untouched before the gateway drops it
        self.idle_seconds = idle_seconds
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(
            auto_decompress=False,
            connector=aiohttp.TCPConnector(limit=256),
            # connect covers waiting for a free pooled connection: when slow clients hold them all,
            # others get a 502 in bounded time rather than waiting for ever
            timeout=aiohttp.ClientTimeout(total=None, connect=POOL_WAIT_SECONDS, sock_connect=10, sock_read=300),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "the application is not started"
        return self._session

    def _url(self, upstream: Upstream) -> URL:
        return URL(self.url + upstream.path_and_query, encoded=True)

    def response_headers(self, upstream_headers: Any, public_base: str) -> CIMultiDict[str]:
        """The registry's answer headers, with its own address in upload URLs replaced by the gateway's."""
        headers = CIMultiDict((k, v) for k, v in upstream_headers.items() if k.lower() not in _HOP_BY_HOP)
        location = headers.get("Location")
        if location and location.startswith(self.url):
            # clients must come back through the gateway; redirects elsewhere (object storage) pass untouched
            headers["Location"] = public_base + location[len(self.url) :]
        return headers

    async def forward(self, request: web.Request, upstream: Upstream, public_base: str) -> web.StreamResponse:
        """Send the planned request and stream the answer back, a chunk at a time.

        Bodies are never held whole: answers (pulls) pass through in pieces of up to
        CHUNK_BYTES, request bodies (pushes) in the pieces the client sends, with aiohttp's
        flow control pausing whichever side is faster. Range requests, chunked uploads and
        redirects pass through as the registry answers them; a registry failure (5xx) never does.
        """
        data = _body_of(request, self.idle_seconds) if upstream.has_body else None
        # an upload's last PUT may rightly wait while the registry stores the blob; anything else answers at once
        timeout = self.session.timeout if upstream.has_body else ANSWER_TIMEOUT
        response: web.StreamResponse | None = None
        try:
            async with self.session.request(
                upstream.method, self._url(upstream), headers=CIMultiDict(upstream.headers), data=data, allow_redirects=False,
                timeout=timeout,
            ) as answer:
                if answer.status >= 500:
                    raise failed(answer.status, await answer.content.read(512))
                response = web.StreamResponse(status=answer.status, headers=self.response_headers(answer.headers, public_base))
                await response.prepare(request)
                if upstream.method != "HEAD":
                    async for chunk in answer.content.iter_chunked(CHUNK_BYTES):
                        # a client that stops reading must not hold a registry connection for ever
                        await asyncio.wait_for(response.write(chunk), self.idle_seconds)
                await response.write_eof()
                return response
        except aiohttp.ServerTimeoutError as exc:  # the registry stalled (it is an asyncio.TimeoutError too)
            if response is not None:
                raise
            raise unavailable(exc) from None
        except asyncio.TimeoutError:
            if response is None:
                raise Refusal(408, "UNSUPPORTED", f"The request body stalled for {self.idle_seconds:g} s; the upload was dropped.") from None
            if request.transport is not None:
                request.transport.close()  # the answer has started: drop the connection
            return response
        except aiohttp.ClientError as exc:
            if response is not None:
                raise  # the answer has started: all that is left is to drop the connection
            raise unavailable(exc) from None

    async def send_small(self, upstream: Upstream, body: bytes) -> tuple[int, Any, bytes]:
        """Send a request with a small body held in memory (a manifest); return status, headers, answer."""
        try:
            async with self.session.request(
                upstream.method, self._url(upstream), headers=CIMultiDict(upstream.headers), data=body, allow_redirects=False
            ) as answer:
                content = await answer.read()
                if answer.status >= 500:
                    raise failed(answer.status, content[:512])
                return answer.status, answer.headers.copy(), content
        except aiohttp.ClientError as exc:
            raise unavailable(exc) from None

    async def catalog(self) -> list[str]:
        """Every repository the registry holds, page by page."""
        names: list[str] = []
        url: str | None = f"{self.url}/v2/_catalog?n=1000"
        while url:
            try:
                async with self.session.get(url) as response:
                    if response.status != 200:
                        raise unavailable(RegistryError(f"catalog answered HTTP {response.status}"))
                    names.extend((await response.json()).get("repositories") or [])
                    link = response.links.get("next")
                    url = str(URL(self.url).join(link["url"])) if link else None  # type: ignore[arg-type]
            except aiohttp.ClientError as exc:
                raise unavailable(exc) from None
        return names


async def _body_of(request: web.Request, idle_seconds: float) -> AsyncIterator[bytes]:
    """The client's body as it arrives, given up when it stalls (it holds a registry connection)."""
    while chunk := await asyncio.wait_for(request.content.readany(), idle_seconds):
        yield chunk


def unavailable(exc: Exception) -> Refusal:
    """The registry failed us; its internal address and the details go to the log only."""
    log.error("the registry behind the gateway failed: %s", exc)
    return Refusal(
        502, "UNAVAILABLE", "The registry behind the hub does not answer; try again, or tell the hub's operator.", detail=dict(UPSTREAM_DETAIL)
    )


def failed(status: int, body: bytes) -> Refusal:
    """The registry answered with an error of its own: the client gets ours, the log gets its."""
    log.error("the registry behind the gateway answered HTTP %s: %s", status, body.decode("utf-8", "replace"))
    return Refusal(
        502, "UNAVAILABLE", "The registry behind the hub failed to answer this request; try again, or tell the hub's operator.",
        detail=dict(UPSTREAM_DETAIL),
    )
