"""The executors the upstream registry holds, as the gateway sees them.

Metadata is read and written with the CLI's own :class:`~hubpush.metadata_store.MetadataStore`
(in worker threads, so the event loop keeps streaming blobs meanwhile). Secret checks are
slow on purpose (scrypt), so successful ones are cached briefly; pushes of one executor are
serialized with a per-executor lock.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ..metadata import ExecutorMetadata, Visibility
from ..metadata_store import MetadataStore
from ..registry import RegistryClient
from ..rules import repository_for_username
from ..secret import verify_secret

#: how long a verified NAME/SECRET pair is trusted without running scrypt again
VERIFIED_TTL_SECONDS = 60.0
_CACHE_MAX = 4096
#: how stale the catalog's view of visibility may be (pulls always read the metadata itself)
CATALOG_TTL_SECONDS = 10.0
SECRET_CHECKS_AT_ONCE = 2
T = TypeVar("T")


def split_path(path: str) -> tuple[str, str]:
    """``team/ml/hello`` -> (``team/ml``, ``hello``): metadata lives at ``team/ml/hubpush-meta/hello``."""
    namespace, _, repository = path.rpartition("/")
    return namespace, repository


class ExecutorDirectory:
    def __init__(self, upstream: str, credentials: tuple[str, str] | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        # one client, one connection pool; namespaces are views of it (RegistryClient.within)
        self._root = RegistryClient(self.upstream, credentials=credentials, trust_env=False)
        self._visibility: OrderedDict[str, tuple[Visibility | None, float]] = OrderedDict()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._verified: OrderedDict[str, float] = OrderedDict()
        # scrypt costs ~50 ms and 16 MiB per check: its own small pool bounds memory (each thread
        # keeps its allocator arena) and keeps a flood of wrong secrets off the metadata threads
        self._slow = ThreadPoolExecutor(max_workers=SECRET_CHECKS_AT_ONCE, thread_name_prefix="hubpush-scrypt")

    # --- plumbing -------------------------------------------------------------------
    def _client(self, namespace: str) -> RegistryClient:
        return self._root.within(namespace) if namespace else self._root

    def lock(self, path: str) -> asyncio.Lock:
        """The lock that serializes every write to executor ``path`` in this gateway."""
        found = self._locks.get(path)
        if found is None:
            found = asyncio.Lock()
            self._locks[path] = found
        return found

    # --- metadata ---------------------------------------------------------------------
    async def read(self, path: str) -> ExecutorMetadata | None:
        namespace, repository = split_path(path)
        return await asyncio.to_thread(MetadataStore(self._client(namespace)).read, repository)

    async def visibility(self, path: str) -> Visibility | None:
        """An executor's visibility (None: not an executor), cached for a few seconds: the catalog
        asks it for every repository on every call, and must not read every metadata document each time."""
        now = time.monotonic()
        cached = self._visibility.get(path)
        if cached is not None and cached[1] > now:
            return cached[0]
        metadata = await self.read(path)
        found = metadata.visibility if metadata else None
        self._visibility[path] = (found, now + CATALOG_TTL_SECONDS)
        self._visibility.move_to_end(path)
        while len(self._visibility) > _CACHE_MAX:
            self._visibility.popitem(last=False)
        return found

    async def write(self, path: str, metadata: ExecutorMetadata) -> str:
        """Store the metadata; return the new artifact's digest."""
        namespace, _ = split_path(path)
        return await asyncio.to_thread(MetadataStore(self._client(namespace)).write, metadata)

    async def current_digest(self, path: str) -> str | None:
        namespace, repository = split_path(path)
        return await asyncio.to_thread(MetadataStore(self._client(namespace)).current_digest, repository)

    async def restore(self, path: str, digest: str | None) -> bool:
        """Put the metadata back at ``digest``, or remove it when there was none (False: not possible)."""
        namespace, repository = split_path(path)
        store = MetadataStore(self._client(namespace))
        if digest is None:
            return await asyncio.to_thread(store.delete, repository)
        return await asyncio.to_thread(store.restore, repository, digest)

    async def tags(self, path: str) -> list[str] | None:
        namespace, repository = split_path(path)
        return await asyncio.to_thread(self._client(namespace).list_tags, repository)

    async def tag_exists(self, path: str, tag: str) -> bool:
        namespace, repository = split_path(path)
        return await asyncio.to_thread(lambda: self._client(namespace).get_manifest(repository, tag) is not None)

    async def manifest(self, path: str, reference: str) -> bytes | None:
        namespace, repository = split_path(path)
        found = await asyncio.to_thread(self._client(namespace).get_manifest, repository, reference)
        return found.raw if found else None

    # --- secrets ------------------------------------------------------------------------
    async def run_slow(self, function: Callable[..., T], *args: Any) -> T:
        """Run a secret hash or check (scrypt) in the small pool reserved for them."""
        return await asyncio.get_running_loop().run_in_executor(self._slow, functools.partial(function, *args))

    async def secret_matches(self, metadata: ExecutorMetadata, path: str, secret: str) -> bool:
        key = hashlib.sha256(f"{path}\0{metadata.secret_hash}\0{secret}".encode()).hexdigest()
        now = time.monotonic()
        if self._verified.get(key, 0.0) > now:
            return True
        if not await self.run_slow(verify_secret, secret, metadata.secret_hash):
            return False
        self._verified[key] = now + VERIFIED_TTL_SECONDS
        while len(self._verified) > _CACHE_MAX:
            self._verified.popitem(last=False)
        return True

    async def prove(self, username: str, secret: str) -> str | None:
        """The executor path that ``username``/``secret`` proves, or None when they prove nothing."""
        path = repository_for_username(username)
        if path is None or not secret:
            return None
        metadata = await self.read(path)
        if metadata is None or not await self.secret_matches(metadata, path, secret):
            return None
        return path
