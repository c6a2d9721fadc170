"""Bearer tokens of the registry auth flow, signed with a key the gateways share.

A token records what the gateway decided when it verified the caller (which executor
they proved, which repositories they may pull or push), so later requests need no
slow secret check. Any gateway holding the same key accepts it: that is what lets
several replicas run side by side. Tokens never contain a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field

from ..core.secrets import b64url, unb64url
from ..hubapi import ACCESS_TOKEN_PREFIX

TOKEN_TTL_SECONDS = 300
ACCESS_PURPOSE = "access-token"


@dataclass(frozen=True)
class Grant:
    """Who the caller proved to be, and what they may do, per repository."""

    #: the repository of the executor whose NAME/SECRET the caller proved; "" for anonymous
    subject: str = ""
    access: dict[str, frozenset[str]] = field(default_factory=dict)
    expires_at: float = 0.0

    def allows(self, repository: str, action: str) -> bool:
        return action in self.access.get(repository, frozenset())


class TokenSigner:
    def __init__(self, key: bytes, ttl: int = TOKEN_TTL_SECONDS) -> None:
        if len(key) < 16:
            raise ValueError("the token key must be at least 16 bytes")
        self._key = key
        self.ttl = ttl

    def _mac(self, payload: str) -> str:
        return b64url(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def sign(self, text: str) -> str:
        """A signature over ``text`` that only holders of the key can make (restore points)."""
        return self._mac(b64url(text.encode("utf-8")))

    def check(self, text: str, signature: str) -> bool:
        """Constant-time check of :meth:`sign`'s signature; text that is not valid Unicode (aiohttp hands
        undecodable header bytes over as lone surrogates) is merely wrong, never an error."""
        if not signature.isascii():
            return False
        try:
            expected = self.sign(text)
        except UnicodeEncodeError:
            return False
        return hmac.compare_digest(signature.encode("ascii"), expected.encode("ascii"))

    def seal(self, purpose: str, data: dict[str, object], ttl: int, now: float | None = None) -> str:
        """``data`` signed for one ``purpose`` (a cookie, a form token), readable by anyone, valid ``ttl`` seconds.

        The purpose is part of what is signed, so no value sealed for one use passes for another,
        nor for a bearer token (whose MAC covers the payload alone)."""
        body = {**data, "exp": int(time.time() if now is None else now) + ttl}
        payload = b64url(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{self.sign(f'{purpose}{chr(0)}{payload}')}"

    def unseal(self, purpose: str, value: str, now: float | None = None) -> dict[str, object] | None:
        """What :meth:`seal` sealed for ``purpose``, or None when it is forged, damaged or expired."""
        payload, _, signature = value.partition(".")
        if not payload or not self.check(f"{purpose}{chr(0)}{payload}", signature):
            return None
        try:
            body = json.loads(unb64url(payload))
        except ValueError:
            return None
        expires = body.get("exp") if isinstance(body, dict) else None
        if not isinstance(expires, int) or expires < (time.time() if now is None else now):
            return None
        return body

    def issue_access(self, repositories: list[str], hours: int, now: float | None = None) -> tuple[str, int]:
        """An access token that pulls ``repositories`` for ``hours``, and when it expires.

        Sealed for its own purpose: it passes for no bearer token, cookie or form token."""
        now = time.time() if now is None else now
        sealed = self.seal(ACCESS_PURPOSE, {"pull": sorted(repositories)}, hours * 3600, now=now)
        return ACCESS_TOKEN_PREFIX + sealed, int(now) + hours * 3600

    def verify_access(self, token: str, now: float | None = None) -> frozenset[str] | None:
        """The repositories an access token pulls, or None when it is forged, damaged or expired."""
        if not token.startswith(ACCESS_TOKEN_PREFIX):
            return None
        body = self.unseal(ACCESS_PURPOSE, token[len(ACCESS_TOKEN_PREFIX) :], now=now)
        pulls = body.get("pull") if body else None
        if not isinstance(pulls, list) or not all(isinstance(item, str) for item in pulls):
            return None
        return frozenset(pulls)

    def check_mac(self, payload: str, mac: str) -> bool:
        """Constant-time check of a token's MAC; any text (non-ASCII included) is merely wrong."""
        if not payload.isascii() or not mac.isascii():
            return False
        return hmac.compare_digest(mac.encode("ascii"), self._mac(payload).encode("ascii"))

    def issue(self, subject: str, access: dict[str, frozenset[str]], now: float | None = None) -> str:
        now = time.time() if now is None else now
        body = {"sub": subject, "access": {repo: sorted(actions) for repo, actions in access.items()}, "exp": int(now) + self.ttl}
        payload = b64url(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str, now: float | None = None) -> Grant | None:
        """The grant inside ``token``, or None when it is forged, damaged or expired."""
        payload, _, mac = token.partition(".")
        if not payload or not self.check_mac(payload, mac):
            return None
        try:
            body = json.loads(unb64url(payload))
            grant = Grant(
                subject=str(body["sub"]),
                access={str(repo): frozenset(actions) for repo, actions in body["access"].items()},
                expires_at=float(body["exp"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        if grant.expires_at < (time.time() if now is None else now):
            return None
        return grant
