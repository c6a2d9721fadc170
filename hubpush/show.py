"""``hubpush show NAME``: what the registry holds for one executor."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .errors import ExecutorNotFoundError
from .metadata import ExecutorMetadata
from .hub_client import HubGateway
from .metadata_store import MetadataStore
from .registry import RegistryClient
from .rules import check_secret, may_read, repository_for
from .secret_store import SecretStore


@dataclass(frozen=True)
class ExecutorView:
    metadata: ExecutorMetadata
    registry: str
    #: tags the registry lists right now (may include tags pushed outside hubpush)
    registry_tags: list[str]

    def to_dict(self) -> dict[str, object]:
        meta = self.metadata
        return {
            "name": meta.name,
            "repository": f"{self.registry}/{meta.repository}",
            "visibility": meta.visibility.value,
            "description": meta.description,
            "protected_tags": meta.protected_tags,
            "tags": {tag: {"digest": rec.digest, "pushed_at": rec.pushed_at} for tag, rec in sorted(meta.tags.items())},
            "registry_tags": self.registry_tags,
            "created_at": meta.created_at,
            "updated_at": meta.updated_at,
            "history": [vars(entry) for entry in meta.history],
        }


def show_executor(
    registry_address: str, name: str, secret: str | None, secret_store: SecretStore | None = None
) -> ExecutorView:
    """Read one executor's metadata; a private one needs its secret (given or cached)."""
    registry = RegistryClient(registry_address)
    registry.ping()
    repository = repository_for(name)
    gateway = HubGateway.detect(registry)
    if gateway is not None:
        secret = secret or (secret_store or SecretStore()).get(registry.location, repository)
        return _view_from_gateway(gateway, repository, name, secret)
    metadata = MetadataStore(registry).read(repository)
    if metadata is None:
        raise ExecutorNotFoundError(f"No executor named {name!r} exists at {registry.location}/{repository}.")
    secret = secret or (secret_store or SecretStore()).get(registry.location, repository)
    if not may_read(metadata, secret):
        check_secret(metadata, secret)  # raises the precise refusal: missing or wrong
    return ExecutorView(metadata=metadata, registry=registry.location, registry_tags=sorted(registry.list_tags(repository) or []))


def _view_from_gateway(gateway: HubGateway, repository: str, name: str, secret: str | None) -> ExecutorView:
    """Behind a gateway the metadata is served by it (private ones only with the secret)."""
    found = gateway.executor(repository, name, secret)
    registry_tags = sorted(found.pop("registry_tags", []))
    found["secret_hash"] = ""  # the gateway never hands it out
    where = f"{gateway.registry.location}/{repository}"
    metadata = ExecutorMetadata.from_json(json.dumps(found).encode("utf-8"), where=where)
    return ExecutorView(metadata=metadata, registry=gateway.registry.location, registry_tags=registry_tags)
