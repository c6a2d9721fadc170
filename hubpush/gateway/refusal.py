"""The one way the gateway answers a request itself: an OCI error body with its HTTP status."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..errors import HubpushError, RateLimitedError


class Refusal(Exception):
    """A request the gateway answers itself, with an OCI error body."""

    def __init__(
        self, status: int, code: str, message: str, *, detail: dict[str, Any] | None = None, challenge: str = "", retry_after: int = 0
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.detail, self.challenge = status, code, message, detail or {}, challenge
        #: seconds for a ``Retry-After`` header (0: none)
        self.retry_after = retry_after

    @classmethod
    def from_error(cls, exc: HubpushError, **detail: Any) -> Refusal:
        """The answer for a user-facing error: its sentence, kind and exit code, with its HTTP status."""
        retry_after = exc.retry_after if isinstance(exc, RateLimitedError) else 0
        return cls(
            exc.http_status, exc.oci_code, exc.message, detail={"kind": exc.kind, "exit_code": exc.exit_code, **detail}, retry_after=retry_after
        )

    def response(self) -> web.Response:
        headers = {"Docker-Distribution-API-Version": "registry/2.0"}
        if self.challenge:
            headers["WWW-Authenticate"] = self.challenge
        if self.retry_after:
            headers["Retry-After"] = str(self.retry_after)
        body = {"errors": [{"code": self.code, "message": self.message, "detail": self.detail}]}
        return web.json_response(body, status=self.status, headers=headers)
