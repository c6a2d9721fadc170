"""The one way the gateway answers a request itself: an OCI error body with its HTTP status."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..errors import (
    ConflictingFlagsError,
    ExecutorNotFoundError,
    HubpushError,
    InvalidExecutorConfigError,
    InvalidExecutorNameError,
    InvalidTagError,
    MetadataCorruptError,
    NameTakenError,
    ProtectedTagError,
    PublisherTokenError,
    SecretRequiredError,
    WrongSecretError,
)

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


class Refusal(Exception):
    """A request the gateway answers itself, with an OCI error body."""

    def __init__(self, status: int, code: str, message: str, *, detail: dict[str, Any] | None = None, challenge: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.detail, self.challenge = status, code, message, detail or {}, challenge

    @classmethod
    def from_error(cls, exc: HubpushError, **detail: Any) -> Refusal:
        """The answer for a user-facing error: its sentence, kind and exit code, with its HTTP status."""
        status, code = next((found for kind, found in _HTTP_FOR_ERROR.items() if isinstance(exc, kind)), (400, "DENIED"))
        return cls(status, code, exc.message, detail={"kind": exc.kind, "exit_code": exc.exit_code, **detail})

    def response(self) -> web.Response:
        headers = {"Docker-Distribution-API-Version": "registry/2.0"}
        if self.challenge:
            headers["WWW-Authenticate"] = self.challenge
        body = {"errors": [{"code": self.code, "message": self.message, "detail": self.detail}]}
        return web.json_response(body, status=self.status, headers=headers)
