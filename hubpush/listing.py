"""``hubpush list``: the executors a hub or a bare registry holds, searched, ordered and paged.

Through a hub gateway, the gateway's listing API answers (from its index, with its own
visibility rules). A bare registry has no such API: the CLI reads the catalog and every
executor's metadata itself, and applies the very same search, order and pages
(:mod:`hubpush.core.catalog`). A bare registry cannot keep private executors private, but
``hubpush list`` does not advertise them.
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .core.catalog import SORTS, paged, sorted_listing
from .core.metadata import ExecutorMetadata, Visibility
from .core.names import executor_paths
from .errors import MetadataCorruptError
from .hubapi import ListedExecutor, ListingPage
from .hubapi_client import HubApiClient
from .oci.client import RegistryClient
from .oci.metadata_store import MetadataStore

#: metadata documents read at once from a bare registry (each worker has its own connection)
READS_AT_ONCE = 8


@dataclass(frozen=True)
class ExecutorList:
    """One page of a listing, as ``hubpush list`` reports it."""

    page: ListingPage
    #: ``host:port[/namespace]`` as given
    registry: str
    #: True when a hub gateway answered (its listing API), False for a bare registry
    hub: bool
    #: the hub's portal; "" on a bare registry
    portal_url: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {**self.page.to_json(), "registry": self.registry, "hub": self.hub, "portal_url": self.portal_url, "notes": self.notes}


def list_executors(registry_address: str, *, sort: str = "name", query: str = "", page: int = 1) -> ExecutorList:
    """Page ``page`` of the executors anyone may pull, ``sort`` ``name`` or ``recent``, searched for ``query``."""
    assert sort in SORTS, sort
    registry = RegistryClient(registry_address)
    registry.ping()
    hub = HubApiClient.detect(registry)
    if hub is not None:
        listing = hub.listing(sort=sort, query=query, page=page)
        notes = ["Private executors are not listed; 'hubpush show NAME' shows yours (with its secret)."]
        return ExecutorList(listing, registry.location, True, hub.portal_url(), notes)
    return _from_registry(registry_address, registry, sort, query, page)


def _from_registry(address: str, registry: RegistryClient, sort: str, query: str, number: int) -> ExecutorList:
    """The bare-registry listing: catalog, every executor's metadata, then the hub's own rules."""
    paths = executor_paths(registry.catalog())
    notes = [
        f"{registry.location} is a bare registry (no hub gateway): it cannot keep private executors private, "
        "so only public ones are listed; run the hub gateway in front of it to enforce visibility ('hubpush hub up')."
    ]
    found: list[ListedExecutor] = []
    for path, metadata in _read_all(address, paths):
        if isinstance(metadata, MetadataCorruptError):
            notes.append(f"Skipped {path}: {metadata.message}")
        elif metadata is not None and metadata.visibility is Visibility.PUBLIC:
            found.append(ListedExecutor.of(path, metadata, image=f"{registry.host}/{path}", size=None))
    page = paged(sorted_listing(found, sort, query), number)
    # image sizes cost a request each: only for the executors shown
    shown = [dataclasses.replace(item, size=_size(registry, item)) for item in page.items]
    listing = ListingPage(shown, page.total, page.number, page.pages, sort, query)
    return ExecutorList(listing, registry.location, False, "", notes)


def _read_all(address: str, paths: list[str]) -> list[tuple[str, ExecutorMetadata | MetadataCorruptError | None]]:
    """Every executor's metadata, a few at once; each worker thread has a client (and a session) of its own,
    so a registry's bearer tokens, one per repository, never cross between requests."""
    local = threading.local()

    def read(path: str) -> tuple[str, ExecutorMetadata | MetadataCorruptError | None]:
        if not hasattr(local, "client"):
            local.client = RegistryClient(address)
        client, repository = local.client.at(path)
        try:
            return path, MetadataStore(client).read(repository)
        except MetadataCorruptError as exc:
            return path, exc

    with ThreadPoolExecutor(max_workers=READS_AT_ONCE, thread_name_prefix="hubpush-list") as pool:
        return list(pool.map(read, paths))


def _size(registry: RegistryClient, item: ListedExecutor) -> int | None:
    if not item.tags:
        return None
    client, repository = registry.at(item.repository)
    return client.image_size(repository, str(item.tags[0]["digest"]))
