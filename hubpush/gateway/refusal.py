"""The one way the gateway answers a request itself: an OCI error body with its HTTP status."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..errors import HubpushError


class Refusal(Exception):
    """A request the gateway answers itself, with an OCI error body."""

    def __init__(self, status: int, code: str, message: str, *, detail: dict[str, Any] | None = None, challenge: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.detail, self.challenge = status, code, message, detail or {}, challenge

    @classmethod
    def from_error(cls, exc: HubpushError, **detail: Any) -> Refusal:
        """The answer for a user-facing error: its sentence, kind and exit code, with its HTTP status."""
        return cls(exc.http_status, exc.oci_code, exc.message, detail={"kind": exc.kind, "exit_code": exc.exit_code, **detail})

    def response(self) -> web.Response:
        headers = {"Docker-Distribution-API-Version": "registry/2.0"}
        if self.challenge:
            headers["WWW-Authenticate"] = self.challenge
        body = {"errors": [{"code": self.code, "message": self.message, "detail": self.detail}]}
        return web.json_response(body, status=self.status, headers=headers)
