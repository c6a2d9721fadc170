"""The CLI's side of a hub gateway: detect one, and use its hub API.

Behind a gateway, the metadata is the gateway's to write: the CLI asks it to check
and record a push (the same :mod:`hubpush.rules` run there, under the executor's lock)
and pushes images with the executor's NAME and SECRET as registry credentials. Against
a bare registry none of this is used and the CLI applies the rules itself.
"""

from __future__ import annotations

from typing import Any

import requests

from .errors import HubpushError, RegistryError, all_error_classes
from .registry import RegistryClient

HUB_INFO_PATH = "/hubpush/v1/info"
GATEWAY_SERVICE = "hubpush-gateway"
PUBLISHER_TOKEN_ENV = "HUBPUSH_PUBLISHER_TOKEN"


class HubGateway:
    def __init__(self, registry: RegistryClient, info: dict[str, Any]) -> None:
        self.registry = registry
        self.info = info

    @classmethod
    def detect(cls, registry: RegistryClient) -> HubGateway | None:
        """The gateway answering at the registry's address, or None for a bare registry."""
        response = registry.send("GET", HUB_INFO_PATH)
        if response.status_code != 200:
            return None
        try:
            info = response.json()
        except ValueError:
            return None
        return cls(registry, info) if isinstance(info, dict) and info.get("service") == GATEWAY_SERVICE else None

    def username(self, name: str) -> str:
        """The registry user name of executor ``name``: its NAME, under the address's namespace."""
        return self.registry.qualified(name)

    def begin_push(
        self, repository: str, body: dict[str, Any], *, name: str, secret: str | None, publisher_token: str | None, dry_run: bool
    ) -> dict[str, Any]:
        """Have the gateway check (``dry_run``) or check and record a push; raises the rule's own error."""
        headers = {"X-Hubpush-Publisher-Token": publisher_token} if publisher_token else {}
        response = self.registry.send(
            "POST",
            f"/hubpush/v1/executors/{self.registry.qualified(repository)}/push",
            json={**body, "dry_run": dry_run},
            headers=headers,
            auth=(self.username(name), secret) if secret else None,
        )
        return self._answer(response, "check the push")

    def abort_push(self, repository: str, restore: dict[str, Any], *, name: str, secret: str) -> bool:
        """Ask the gateway to put the metadata back as it was before ``begin_push``; True if it did."""
        response = self.registry.send(
            "POST", f"/hubpush/v1/executors/{self.registry.qualified(repository)}/abort", json=restore, auth=(self.username(name), secret)
        )
        return bool(self._answer(response, "undo the recorded push").get("restored"))

    def executor(self, repository: str, name: str, secret: str | None) -> dict[str, Any]:
        """The executor's metadata as the gateway shows it (never the secret hash)."""
        response = self.registry.send(
            "GET",
            f"/hubpush/v1/executors/{self.registry.qualified(repository)}",
            auth=(self.username(name), secret) if secret else None,
        )
        return self._answer(response, f"show {repository}")

    def _answer(self, response: requests.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and isinstance(body, dict):
            return body
        raise _error_from(body, f"The hub at {self.registry.host} refused to {what} (HTTP {response.status_code}).")


def _error_from(body: Any, fallback: str) -> HubpushError:
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
