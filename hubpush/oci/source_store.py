"""The zip an executor was pushed with (``jina hub push``), kept in the registry beside its image.

Jina's ``jinahub://NAME`` (source) use downloads the zip of the executor's folder. The hub keeps
the zip it built from as an OCI artifact in the executor's metadata repository, tagged
``source-HEX`` after the image digest ``sha256:HEX`` it was built into, so every tag pointing at
that image finds it, and the registry keeps the blob for as long as the artifact exists. The
artifact's annotations carry the zip's MD5, which Jina's client checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..core.names import metadata_repository, source_tag
from ..errors import RegistryError
from .client import RegistryClient
from .media import OCI_MANIFEST, SOURCE_MEDIA_TYPE, SOURCE_ZIP_MEDIA_TYPE

MD5_ANNOTATION = "io.hubpush.source.md5"
EMPTY_CONFIG = b"{}"


@dataclass(frozen=True)
class SourceRecord:
    """Where the zip's blob is, and what the client checks it against."""

    digest: str
    size: int
    md5: str


class SourceStore:
    """Writes and finds source zips through one registry client."""

    def __init__(self, registry: RegistryClient) -> None:
        self.registry = registry

    def write(self, repository: str, image_digest: str, archive: Path, *, sha256: str, md5: str) -> SourceRecord:
        """Store ``archive`` (digests computed as it was received) as the source of ``image_digest``."""
        meta_repo = metadata_repository(repository)
        size = self.registry.push_blob_file(meta_repo, archive, sha256)
        config = self.registry.push_blob(meta_repo, EMPTY_CONFIG)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": SOURCE_MEDIA_TYPE,
            "config": {"mediaType": SOURCE_MEDIA_TYPE, "digest": config, "size": len(EMPTY_CONFIG)},
            "layers": [{"mediaType": SOURCE_ZIP_MEDIA_TYPE, "digest": sha256, "size": size}],
            "annotations": {MD5_ANNOTATION: md5, "io.hubpush.image.digest": image_digest},
        }
        raw = json.dumps(manifest, sort_keys=True).encode("utf-8")
        self.registry.put_manifest(meta_repo, source_tag(image_digest), raw, OCI_MANIFEST)
        return SourceRecord(sha256, size, md5)

    def find(self, repository: str, image_digest: str) -> SourceRecord | None:
        """The source zip of ``image_digest``, or None when it was pushed without one (``hubpush push``)."""
        manifest = self.registry.get_manifest(metadata_repository(repository), source_tag(image_digest))
        if manifest is None:
            return None
        try:
            document = json.loads(manifest.raw)
            layer = document["layers"][0]
            record = SourceRecord(str(layer["digest"]), int(layer["size"]), str(document["annotations"][MD5_ANNOTATION]))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise RegistryError(f"The source artifact of {repository} at {image_digest} is damaged ({exc.__class__.__name__}).") from None
        return record
