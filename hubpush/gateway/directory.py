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
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..core.metadata import ExecutorMetadata, ReadmeRecord
from ..core.names import repository_for_username
from ..core.secrets import hash_secret, verify_secret
from ..oci.client import RegistryClient
from ..oci.metadata_store import MetadataStore

#: how long a verified NAME/SECRET pair is trusted without running scrypt again
VERIFIED_TTL_SECONDS = 60.0
_CACHE_MAX = 4096
SECRET_CHECKS_AT_ONCE = 2
T = TypeVar("T")
V = TypeVar("V")


def split_path(path: str) -> tuple[str, str]:
    """``team/ml/hello`` -> (``team/ml``, ``hello``): metadata lives at ``team/ml/hubpush-meta/hello``."""
    namespace, _, repository = path.rpartition("/")
    return namespace, repository


@dataclass(frozen=True)
class _Cached(Generic[V]):
    value: V


class _TtlCache(Generic[V]):
    """A small in-memory cache: entries expire after their time to live, the oldest go first beyond a bound."""

    def __init__(self, size: int = _CACHE_MAX) -> None:
        self._entries: OrderedDict[str, tuple[_Cached[V], float]] = OrderedDict()
        self._size = size

    def get(self, key: str) -> _Cached[V] | None:
        found = self._entries.get(key)
        return found[0] if found is not None and found[1] > time.monotonic() else None

    def put(self, key: str, entry: _Cached[V], ttl: float) -> None:
        self._entries[key] = (entry, time.monotonic() + ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


class ExecutorDirectory:
    def __init__(self, upstream: str, credentials: tuple[str, str] | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        # one client, one connection pool; namespaces are views of it (RegistryClient.within)
        self._root = RegistryClient(self.upstream, credentials=credentials, trust_env=False)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._verified: _TtlCache[bool] = _TtlCache()
        # scrypt costs ~50 ms and 16 MiB per check: its own small pool bounds memory (each thread
        # keeps its allocator arena) and keeps a flood of wrong secrets off the metadata threads
        self._slow = ThreadPoolExecutor(max_workers=SECRET_CHECKS_AT_ONCE, thread_name_prefix="hubpush-scrypt")

    # --- plumbing -------------------------------------------------------------------
    def at(self, path: str) -> tuple[RegistryClient, str]:
        """The client for ``path``'s namespace (sharing one connection pool) and its last component."""
        return self._root.at(path)

    def lock(self, path: str) -> asyncio.Lock:
        """The lock that serializes every write to executor ``path`` in this gateway."""
        found = self._locks.get(path)
        if found is None:
            found = asyncio.Lock()
            self._locks[path] = found
        return found

    # --- metadata ---------------------------------------------------------------------
    async def read(self, path: str) -> ExecutorMetadata | None:
        client, repository = self.at(path)
        return await asyncio.to_thread(MetadataStore(client).read, repository)

    async def write(self, path: str, metadata: ExecutorMetadata) -> str:
        """Store the metadata; return the new artifact's digest."""
        client, _ = self.at(path)
        return await asyncio.to_thread(MetadataStore(client).write, metadata)

    async def current_digest(self, path: str) -> str | None:
        client, repository = self.at(path)
        return await asyncio.to_thread(MetadataStore(client).current_digest, repository)

    async def restore(self, path: str, digest: str | None) -> bool:
        """Put the metadata back at ``digest``, or remove it when there was none (False: not possible)."""
        client, repository = self.at(path)
        store = MetadataStore(client)
        if digest is None:
            return await asyncio.to_thread(store.delete, repository)
        return await asyncio.to_thread(store.restore, repository, digest)

    async def readme(self, path: str, metadata: ExecutorMetadata) -> str:
        """The README the metadata records ("" when none)."""
        if metadata.readme is None:
            return ""
        client, repository = self.at(path)
        return await asyncio.to_thread(MetadataStore(client).read_readme, repository, metadata.readme)

    async def write_readme(self, path: str, text: str, *, truncated: bool) -> ReadmeRecord:
        client, repository = self.at(path)
        return await asyncio.to_thread(lambda: MetadataStore(client).write_readme(repository, text, truncated=truncated))

    async def image_size(self, path: str, digest: str) -> int | None:
        """Compressed bytes of the image at ``digest``: config and layers (for an index, its first image)."""
        client, repository = self.at(path)
        return await asyncio.to_thread(client.image_size, repository, digest)

    async def tags(self, path: str) -> list[str] | None:
        client, repository = self.at(path)
        return await asyncio.to_thread(client.list_tags, repository)

    async def tag_exists(self, path: str, tag: str) -> bool:
        client, repository = self.at(path)
        return await asyncio.to_thread(lambda: client.get_manifest(repository, tag) is not None)

    # --- secrets ------------------------------------------------------------------------
    async def in_cpu_pool(self, function: Callable[..., T], *args: Any) -> T:
        """Run a secret hash or check (scrypt) in the small pool reserved for them."""
        return await asyncio.get_running_loop().run_in_executor(self._slow, functools.partial(function, *args))

    async def secret_matches(self, metadata: ExecutorMetadata, path: str, secret: str) -> bool:
        key = hashlib.sha256(f"{path}\0{metadata.secret_hash}\0{secret}".encode()).hexdigest()
        if self._verified.get(key) is not None:
            return True
        if not await self.in_cpu_pool(verify_secret, secret, metadata.secret_hash):
            return False  # failures are not cached
        self._verified.put(key, _Cached(True), VERIFIED_TTL_SECONDS)
        return True

    async def decoy_check(self, secret: str) -> None:
        """As slow as checking ``secret`` against a real executor: for NAMEs that do not exist, so the answer's
        timing does not tell which NAMEs exist."""
        await self.in_cpu_pool(_check_decoy, secret)

    async def prove(self, username: str, secret: str) -> str | None:
        """The executor path that ``username``/``secret`` proves, or None when they prove nothing."""
        path = repository_for_username(username)
        if path is None or not secret:
            return None
        metadata = await self.read(path)
        if metadata is None:
            await self.decoy_check(secret)
            return None
        if not await self.secret_matches(metadata, path, secret):
            return None
        return path


@functools.cache
def _decoy_hash() -> str:
    """A hash of no one's secret (made once, on first use: scrypt is slow on purpose)."""
    return hash_secret("hubpush-decoy-" + "x" * 32)


def _check_decoy(secret: str) -> bool:
    """As slow as checking a real secret, for NAMEs that do not exist."""
    return verify_secret(secret, _decoy_hash())
