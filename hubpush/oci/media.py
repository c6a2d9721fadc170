"""Media types and digests of the OCI objects hubpush reads and writes. Pure."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
#: what a manifest GET accepts: every image and index type an engine pushes
MANIFEST_ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST])
#: the artifact type (and config media type) of an executor's metadata artifact
METADATA_MEDIA_TYPE = "application/vnd.hubpush.executor.metadata.v1+json"
#: the media type of the README layer of that artifact
README_MEDIA_TYPE = "text/markdown; charset=utf-8"
#: the artifact type (and config media type) of the zip an executor was pushed with through Jina's client
SOURCE_MEDIA_TYPE = "application/vnd.hubpush.executor.source.v1+json"
#: the media type of that zip, the artifact's one layer
SOURCE_ZIP_MEDIA_TYPE = "application/zip"


@dataclass(frozen=True)
class Manifest:
    """A manifest exactly as the registry holds it: its bytes are what its digest is of."""

    raw: bytes
    media_type: str
    digest: str


def sha256_digest(data: bytes) -> str:
    """The OCI digest of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()
