"""The CLI's side of a hub gateway: detect one, and call its hub API (:mod:`hubpush.hubapi`).

Behind a gateway, the metadata is the gateway's to write: the CLI asks it to check
and record a push (the same :mod:`hubpush.core.policy` runs there, under the executor's
lock) and pushes images with the executor's NAME and SECRET as registry credentials.
Against a bare registry none of this is used and the CLI applies the rules itself.
"""

from __future__ import annotations

from typing import Any

import requests

from .errors import HubpushError, RegistryError, all_error_classes
from .hubapi import (
    ACCESS_TOKENS_PATH,
    INFO_PATH,
    LISTING_PATH,
    PUBLISHER_TOKEN_HEADER,
    AccessTokenAnswer,
    AccessTokenRequest,
    ExecutorListing,
    HubInfo,
    ListingPage,
    PushAnswer,
    PushCheck,
    RestorePoint,
    abort_path,
    executor_path,
    portal_path,
    push_path,
)
from .oci.client import RegistryClient


class HubApiClient:
    """The hub API of the gateway at ``registry``'s address (the server side is ``hubpush.gateway``)."""

    def __init__(self, registry: RegistryClient, info: HubInfo) -> None:
        self.registry = registry
        self.info = info

    @classmethod
    def detect(cls, registry: RegistryClient) -> HubApiClient | None:
        """The gateway answering at the registry's address, or None for a bare registry."""
        response = registry.send("GET", INFO_PATH)
        if response.status_code != 200:
            return None
        try:
            info = HubInfo.from_json(response.json())
        except ValueError:
            return None
        return cls(registry, info) if info is not None else None

    def username(self, name: str) -> str:
        """The registry user name of executor ``name``: its NAME, under the address's namespace."""
        return self.registry.qualified(name)

    def begin_push(
        self, repository: str, check: PushCheck, *, name: str, secret: str | None, publisher_token: str | None
    ) -> PushAnswer:
        """Have the gateway check (``check.dry_run``) or check and record a push; raises the rule's own error."""
        headers = {PUBLISHER_TOKEN_HEADER: publisher_token} if publisher_token else {}
        response = self.registry.send(
            "POST",
            push_path(self.registry.qualified(repository)),
            json=check.to_json(),
            headers=headers,
            auth=(self.username(name), secret) if secret else None,
        )
        return PushAnswer.from_json(self._answer(response, "check the push"))

    def abort_push(self, repository: str, restore: RestorePoint, *, name: str, secret: str) -> bool:
        """Ask the gateway to put the metadata back as it was before ``begin_push``; True if it did."""
        response = self.registry.send(
            "POST", abort_path(self.registry.qualified(repository)), json=restore.to_json(), auth=(self.username(name), secret)
        )
        return bool(self._answer(response, "undo the recorded push").get("restored"))

    def executor(self, repository: str, name: str, secret: str | None) -> ExecutorListing:
        """The executor's metadata as the gateway shows it (never the secret hash)."""
        response = self.registry.send(
            "GET",
            executor_path(self.registry.qualified(repository)),
            auth=(self.username(name), secret) if secret else None,
        )
        found = self._answer(response, f"show {repository}")
        return ExecutorListing.from_json(found, where=f"{self.registry.location}/{repository}")

    def listing(self, *, sort: str, query: str, page: int) -> ListingPage:
        """One page of the executors the hub lists to an anonymous caller (public ones)."""
        response = self.registry.send("GET", LISTING_PATH, params={"sort": sort, "q": query, "page": str(page)})
        return ListingPage.from_json(self._answer(response, "list its executors"))

    def create_access_token(self, request: AccessTokenRequest) -> AccessTokenAnswer:
        """An access token pulling the executors named (the hub checks each secret)."""
        response = self.registry.send("POST", ACCESS_TOKENS_PATH, json=request.to_json())
        return AccessTokenAnswer.from_json(self._answer(response, "make an access token"))

    def portal_url(self, repository: str = "") -> str:
        """The hub's portal as the CLI reaches the gateway (``repository``: that executor's page)."""
        return f"{self.registry.base_url}{portal_path(self.registry.qualified(repository))}" if repository else f"{self.registry.base_url}/"

    def _answer(self, response: requests.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and isinstance(body, dict):
            return body
        raise error_from(body, f"The hub at {self.registry.host} refused to {what} (HTTP {response.status_code}).")


def error_from(body: Any, fallback: str) -> HubpushError:
    """The gateway's OCI error body names the hubpush error kind: raise that very class."""
    try:
        error = body["errors"][0]
        kind, message = error.get("detail", {}).get("kind"), error["message"]
    except (KeyError, IndexError, TypeError, AttributeError):
        return RegistryError(fallback)
    for cls in all_error_classes():
        if cls.kind == kind:
            return cls(message)
    return RegistryError(f"{fallback[:-1]}: {message}")
