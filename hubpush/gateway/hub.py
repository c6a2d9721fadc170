"""What every handler shares: the settings, the executor directory, the token signer, the registry.

One :class:`Hub` per application, created by :func:`~.app.create_app` and found by handlers
under :data:`HUB`.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from aiohttp import web
from yarl import URL

from ..core.ratelimit import address_key, client_address
from ..hubapi import TOKEN_PATH
from .builds import BuildQueue, BuildTasks
from .directory import ExecutorDirectory
from .index import ExecutorIndex
from .settings import GatewaySettings
from .tokens import TokenSigner
from .upstream import UpstreamRegistry

TOKEN_SERVICE = "hubpush"


@dataclass
class Hub:
    settings: GatewaySettings
    directory: ExecutorDirectory
    signer: TokenSigner
    registry: UpstreamRegistry
    index: ExecutorIndex
    #: the hub's own builds of ``jina hub push`` uploads, and what ``jina hub status`` may ask about them
    builds: BuildQueue
    tasks: BuildTasks = field(default_factory=BuildTasks)

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> Hub:
        directory = ExecutorDirectory(settings.upstream, per_address=settings.address_budget, per_name=settings.name_budget)
        registry = UpstreamRegistry(settings.upstream, settings.idle_seconds)
        index = ExecutorIndex(directory, registry, settings.index_seconds)
        return cls(settings, directory, TokenSigner(settings.token_key), registry, index, BuildQueue(settings.builds))

    def is_publisher_token(self, given: str) -> bool:
        """Whether ``given`` is this hub's publisher token, compared in constant time. Any text is merely
        wrong, never an error: aiohttp hands header bytes that are not UTF-8 over as lone surrogates."""
        expected = self.settings.publisher_token
        if expected is None:
            return False
        try:
            given_bytes = given.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: header bytes that were not UTF-8
            return False
        return hmac.compare_digest(given_bytes, expected.encode("utf-8"))

    def public_base(self, request: web.Request) -> str:
        """The gateway's own URL as the client reached it (for token realms and Locations)."""
        if self.settings.public_url:
            return self.settings.public_url
        scheme = request.headers.get("X-Forwarded-Proto", request.scheme)
        return f"{scheme}://{request.host}"

    def client(self, request: web.Request) -> str:
        """Whose budget of failed secret checks a request spends: its peer address (IPv6 by /64), or, from
        a trusted proxy, the client its ``X-Forwarded-For`` names. Never the header otherwise: anyone can write it."""
        peer = request.remote or ""
        return address_key(client_address(peer, request.headers.getall("X-Forwarded-For", []), self.settings.trusted_proxies))

    def address(self, request: web.Request) -> str:
        """HOST:PORT of the gateway as clients name it in image references."""
        return URL(self.public_base(request)).raw_authority

    def challenge(self, request: web.Request, scope: str = "", error: str = "") -> str:
        """The ``WWW-Authenticate`` value that sends docker and oras to the token service."""
        value = f'Bearer realm="{self.public_base(request)}{TOKEN_PATH}",service="{TOKEN_SERVICE}"'
        if scope:
            value += f',scope="{scope}"'
        if error:
            value += f',error="{error}"'
        return value


HUB = web.AppKey("hub", Hub)


def hub_of(request: web.Request) -> Hub:
    return request.app[HUB]
