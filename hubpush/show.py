"""``hubpush show NAME``: what the registry holds for one executor."""

from __future__ import annotations

from dataclasses import dataclass

from .core.metadata import ExecutorMetadata
from .core.names import repository_for
from .core.policy import check_secret, readable_with
from .core.readme_text import first_paragraph
from .errors import ExecutorNotFoundError
from .hubapi_client import HubApiClient
from .oci.client import RegistryClient
from .oci.metadata_store import MetadataStore
from .secret_store import SecretStore


@dataclass(frozen=True)
class ExecutorView:
    """One executor as ``hubpush show`` reports it."""

    metadata: ExecutorMetadata
    registry: str
    #: tags the registry lists right now (may include tags pushed outside hubpush)
    registry_tags: list[str]
    #: the README's first paragraph as plain text ("" without a README)
    readme_summary: str = ""
    #: the executor's page on the hub's portal ("" on a bare registry)
    portal_url: str = ""

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
            "keywords": meta.keywords,
            "readme_summary": self.readme_summary,
            "portal_url": self.portal_url,
        }


def show_executor(
    registry_address: str, name: str, secret: str | None, secret_store: SecretStore | None = None
) -> ExecutorView:
    """Read one executor's metadata; a private one needs its secret (given or cached)."""
    registry = RegistryClient(registry_address)
    registry.ping()
    repository = repository_for(name)
    hub = HubApiClient.detect(registry)
    if hub is not None:
        secret = secret or (secret_store or SecretStore()).get(registry.location, repository)
        # behind a gateway the metadata is served by it (private ones only with the secret)
        found = hub.executor(repository, name, secret)
        return ExecutorView(
            metadata=found.metadata,
            registry=registry.location,
            registry_tags=found.registry_tags,
            readme_summary=found.readme_summary,
            portal_url=found.portal_url or hub.portal_url(repository),
        )
    store = MetadataStore(registry)
    metadata = store.read(repository)
    if metadata is None:
        raise ExecutorNotFoundError(f"No executor named {name!r} exists at {registry.location}/{repository}.")
    secret = secret or (secret_store or SecretStore()).get(registry.location, repository)
    if not readable_with(metadata, secret):
        check_secret(metadata, secret)  # raises the precise refusal: missing or wrong
    readme = store.read_readme(repository, metadata.readme) if metadata.readme else ""
    return ExecutorView(
        metadata=metadata,
        registry=registry.location,
        registry_tags=sorted(registry.list_tags(repository) or []),
        readme_summary=first_paragraph(readme),
    )
