"""Executor metadata kept in the registry itself, as an OCI artifact.

Each executor ``REPO`` has a metadata repository ``hubpush-meta/REPO`` whose tag
``current`` is an OCI image manifest with artifact type
``application/vnd.hubpush.executor.metadata.v1+json``; its config blob is the
JSON document of :class:`~hubpush.core.metadata.ExecutorMetadata`. Any OCI registry
stores this (no referrers API needed), and the executor's own tag list stays clean.
"""

from __future__ import annotations

import json

from ..core.metadata import ExecutorMetadata, ReadmeRecord, corrupt_metadata
from ..core.names import METADATA_TAG, metadata_repository
from ..errors import RegistryError
from .client import RegistryClient
from .media import METADATA_MEDIA_TYPE, OCI_MANIFEST, README_MEDIA_TYPE


class MetadataStore:
    """Reads and writes executors' metadata artifacts through one registry client."""

    def __init__(self, registry: RegistryClient) -> None:
        self.registry = registry

    def read(self, repository: str) -> ExecutorMetadata | None:
        """The executor's metadata, or None when ``repository`` is not a hubpush executor."""
        meta_repo = metadata_repository(repository)
        manifest = self.registry.get_manifest(meta_repo, METADATA_TAG)
        if manifest is None:
            return None
        where = f"{self.registry.location}/{meta_repo}:{METADATA_TAG}"
        try:
            digest = json.loads(manifest.raw)["config"]["digest"]
        except (ValueError, KeyError, TypeError) as exc:
            raise corrupt_metadata(where, exc) from None
        return ExecutorMetadata.from_json(self.registry.get_blob(meta_repo, digest), where=where)

    def write(self, metadata: ExecutorMetadata) -> str:
        """Store ``metadata`` as the executor's current metadata; return the artifact digest."""
        meta_repo = metadata_repository(metadata.repository)
        document = metadata.to_json()
        digest = self.registry.push_blob(meta_repo, document, probe=False)  # a new time stamp each write: never there yet
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": METADATA_MEDIA_TYPE,
            "config": {"mediaType": METADATA_MEDIA_TYPE, "digest": digest, "size": len(document)},
            # the README is a layer, so the registry keeps its blob as long as the metadata points at it
            "layers": [{"mediaType": README_MEDIA_TYPE, "digest": metadata.readme.digest, "size": metadata.readme.size}]
            if metadata.readme
            else [],
            "annotations": {
                "org.opencontainers.image.title": metadata.name,
                "org.opencontainers.image.created": metadata.updated_at,
                "io.hubpush.visibility": metadata.visibility.value,
            },
        }
        raw = json.dumps(manifest, sort_keys=True).encode("utf-8")
        return self.registry.put_manifest(meta_repo, METADATA_TAG, raw, OCI_MANIFEST)

    def write_readme(self, repository: str, text: str, *, truncated: bool) -> ReadmeRecord:
        """Store a README's blob in the executor's metadata repository; the next :meth:`write` links it."""
        data = text.encode("utf-8")
        digest = self.registry.push_blob(metadata_repository(repository), data)
        return ReadmeRecord(digest=digest, size=len(data), truncated=truncated)

    def read_readme(self, repository: str, record: ReadmeRecord) -> str:
        """The README text ``record`` names ("" when its blob is gone)."""
        try:
            return self.registry.get_blob(metadata_repository(repository), record.digest).decode("utf-8", "replace")
        except RegistryError:
            return ""

    def delete(self, repository: str) -> bool:
        """Remove the executor's metadata (undoing a first publish that pushed nothing).
        False when the registry does not allow deletes."""
        meta_repo = metadata_repository(repository)
        manifest = self.registry.get_manifest(meta_repo, METADATA_TAG)
        return manifest is None or self.registry.delete_manifest(meta_repo, manifest.digest)

    def current_digest(self, repository: str) -> str | None:
        """The digest of the metadata artifact ``current`` points at now (None when absent)."""
        manifest = self.registry.get_manifest(metadata_repository(repository), METADATA_TAG)
        return manifest.digest if manifest else None

    def restore(self, repository: str, digest: str) -> bool:
        """Point ``current`` back at an earlier metadata artifact (registries keep it by digest).
        False when the registry no longer holds it."""
        meta_repo = metadata_repository(repository)
        manifest = self.registry.get_manifest(meta_repo, digest)
        if manifest is None:
            return False
        self.registry.put_manifest(meta_repo, METADATA_TAG, manifest.raw, manifest.media_type)
        return True
