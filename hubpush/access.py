"""``hubpush token``: an access token that lets one ``docker login`` pull several private executors.

Docker keeps one credential per registry host, and an executor's NAME and SECRET open that
executor alone; a Flow that uses several private executors of one hub needs a credential that
opens them all. The hub checks each NAME's SECRET once and signs a token naming them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .core.names import repository_for, validate_name
from .errors import RegistryError, SecretRequiredError
from .hubapi import AccessTokenAnswer, AccessTokenRequest
from .hubapi_client import HubApiClient
from .oci.client import RegistryClient
from .secret_store import SecretStore


@dataclass(frozen=True)
class AccessToken:
    """A token, what it opens, and the login line that hands it to docker."""

    registry_host: str
    answer: AccessTokenAnswer

    @property
    def login_command(self) -> str:
        return f"docker login {self.registry_host} --username token --password-stdin"

    def to_dict(self) -> dict[str, object]:
        return {**self.answer.to_json(), "registry": self.registry_host, "login_command": self.login_command}


def create_access_token(address: str, executors: list[str], hours: int, secrets: SecretStore | None = None) -> AccessToken:
    """Ask the hub at ``address`` for a token pulling ``executors`` (each ``NAME`` with its cached secret, or ``NAME:SECRET``)."""
    secrets = secrets or SecretStore()
    registry = RegistryClient(address)
    pairs = [_with_secret(item, registry, secrets) for item in executors]
    hub = HubApiClient.detect(registry)
    if hub is None:
        raise RegistryError(
            f"{registry.location} is a bare registry, which has no access tokens; log docker in with an executor's "
            "NAME and SECRET, or push through a hub (hubpush hub up)."
        )
    return AccessToken(registry.host, hub.create_access_token(AccessTokenRequest(pairs, hours)))


def _with_secret(item: str, registry: RegistryClient, secrets: SecretStore) -> tuple[str, str]:
    name, _, secret = item.partition(":")
    validate_name(name)
    secret = secret or secrets.get(registry.location, repository_for(name)) or ""
    if not secret:
        raise SecretRequiredError(
            f"No secret for {name!r} is cached on this machine for {registry.location}; write it as {name}:SECRET."
        )
    return registry.qualified(name), secret
