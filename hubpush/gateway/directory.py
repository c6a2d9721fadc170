"""The executors the upstream registry holds, as the gateway sees them.

Metadata is read and written with the CLI's own :class:`~hubpush.metadata_store.MetadataStore`
(in worker threads, so the event loop keeps streaming blobs meanwhile). Secret checks are
slow on purpose (scrypt), so successful ones are cached briefly, and the others are limited
per client address and per executor (:mod:`hubpush.core.ratelimit`) before any I/O or scrypt
runs; pushes of one executor are serialized with a per-executor lock.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..core.metadata import ExecutorMetadata, ReadmeRecord
from ..core.names import folded_path, repository_for_username
from ..core.ratelimit import DEFAULT_ADDRESS_BUDGET, DEFAULT_NAME_BUDGET, Budget, Refused, SecretCheckLimits
from ..core.secrets import hash_secret, verify_secret
from ..errors import RateLimitedError
from ..oci.client import RegistryClient
from ..oci.metadata_store import MetadataStore

log = logging.getLogger("hubpush.gateway")

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


#: how long each metadata request to the registry behind the gateway may take
UPSTREAM_SECONDS = 15.0


class ExecutorDirectory:
    def __init__(
        self,
        upstream: str,
        credentials: tuple[str, str] | None = None,
        *,
        per_address: Budget = DEFAULT_ADDRESS_BUDGET,
        per_name: Budget = DEFAULT_NAME_BUDGET,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        # one client, one connection pool; namespaces are views of it (RegistryClient.within)
        # a shorter wait than the CLI's (30 s): a hung registry gets the hub's 502 naming it, in time
        self._root = RegistryClient(self.upstream, credentials=credentials, trust_env=False, timeout=UPSTREAM_SECONDS)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        #: (path, secret) -> the secret hash scrypt accepted it for
        self._verified: _TtlCache[str] = _TtlCache()
        self.limits = SecretCheckLimits(per_address, per_name, time.monotonic)
        #: spent budgets already logged in this window
        self._reported: _TtlCache[bool] = _TtlCache()
        # scrypt costs ~50 ms and 16 MiB per check: its own small pool bounds memory (each thread
        # keeps its allocator arena) and keeps a flood of wrong secrets off the metadata threads
        self._slow = ThreadPoolExecutor(max_workers=SECRET_CHECKS_AT_ONCE, thread_name_prefix="hubpush-scrypt")

    # --- plumbing -------------------------------------------------------------------
    def at(self, path: str) -> tuple[RegistryClient, str]:
        """The client for ``path``'s namespace (sharing one connection pool) and its last component."""
        return self._root.at(path)

    def lock(self, path: str) -> asyncio.Lock:
        """The lock that serializes every write to executor ``path`` in this gateway.

        Paths that fold alike (``priv-b``, ``privb``) share one, so two first publishes of
        confusable NAMEs cannot both pass the check that only one of them may exist."""
        key = folded_path(path)
        found = self._locks.get(key)
        if found is None:
            found = asyncio.Lock()
            self._locks[key] = found
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

    @contextmanager
    def checking(self, path: str, secret: str, client: str) -> Iterator[SecretCheck]:
        """A secret check of ``path`` for ``client``, admitted before any I/O: raises
        :class:`RateLimitedError` when the client's or the NAME's budget of failures is spent.

        Pairs verified in the last minute need no admission (so an owner is never refused for
        what others did). A check that never ran, or failed for the registry's sake, costs nothing.
        """
        key = hashlib.sha256(f"{path}\0{secret}".encode()).hexdigest()
        cached = self._verified.get(key)
        ticket = None
        if cached is None:
            admitted = self.limits.admit(client, path)
            if isinstance(admitted, Refused):
                self._report(admitted, client, path)
                raise _rate_limited(admitted, path)
            ticket = admitted
        check = SecretCheck(self, key, secret, cached.value if cached else None)
        try:
            yield check
        finally:
            if ticket is not None:
                self.limits.settle(ticket, succeeded=check.outcome is not False)

    def _report(self, refused: Refused, client: str, path: str) -> None:
        """One log line per spent budget and window, not one per refused request (a flood sends thousands)."""
        whose = client if refused.spent == "address" else path
        if self._reported.get(f"{refused.spent}\0{whose}") is None:
            self._reported.put(f"{refused.spent}\0{whose}", _Cached(True), self.limits.addresses.budget.window)
            log.warning("secret checks refused for %s %s for %d s: its budget of failures is spent", refused.spent, whose, refused.retry_after)

    def remember(self, key: str, secret_hash: str) -> None:
        """A pair scrypt just accepted for ``secret_hash``: trusted for a minute without scrypt or limits."""
        self._verified.put(key, _Cached(secret_hash), VERIFIED_TTL_SECONDS)

    async def prove(self, username: str, secret: str, client: str) -> str | None:
        """The executor path that ``username``/``secret`` proves, or None when they prove nothing."""
        path = repository_for_username(username)
        if path is None or not secret:
            return None
        with self.checking(path, secret, client) as check:
            metadata = await self.read(path)
            return path if await check.verify(metadata) else None


class SecretCheck:
    """One admitted check of a secret (see :meth:`ExecutorDirectory.checking`)."""

    def __init__(self, directory: ExecutorDirectory, key: str, secret: str, verified_hash: str | None) -> None:
        self._directory, self._key, self._secret, self._verified_hash = directory, key, secret, verified_hash
        #: None until :meth:`verify` ran
        self.outcome: bool | None = None

    async def verify(self, metadata: ExecutorMetadata | None) -> bool:
        """Whether the secret is ``metadata``'s; None metadata (no such executor) costs a decoy scrypt."""
        self.outcome = await self._run(metadata)
        return self.outcome

    async def _run(self, metadata: ExecutorMetadata | None) -> bool:
        directory = self._directory
        if metadata is not None and metadata.secret_hash == self._verified_hash:
            return True  # the cache keeps the hash too: it never accepts what scrypt would refuse
        # (cached for another hash: the executor was replaced since; scrypt decides, unlimited, as
        # only a caller who knows a secret verified a minute ago for this NAME can get here)
        if metadata is None:
            # as slow as a wrong secret, so the answer's timing does not tell which NAMEs exist
            await directory.in_cpu_pool(_check_decoy, self._secret)
            return False
        if not await directory.in_cpu_pool(verify_secret, self._secret, metadata.secret_hash):
            return False  # failures are not cached
        directory.remember(self._key, metadata.secret_hash)
        return True


@functools.cache
def _decoy_hash() -> str:
    """A hash of no one's secret (made once, on first use: scrypt is slow on purpose)."""
    return hash_secret("hubpush-decoy-" + "x" * 32)


def _check_decoy(secret: str) -> bool:
    """As slow as checking a real secret, for NAMEs that do not exist."""
    return verify_secret(secret, _decoy_hash())


def _rate_limited(refused: Refused, path: str) -> RateLimitedError:
    """The sentence for a check the limits refused, saying when to try again."""
    if refused.spent == "address":
        why = "Too many wrong NAME/SECRET attempts came from your address"
    else:
        why = f"Too many wrong secrets were tried for {path} lately, from addresses that failed before"
    return RateLimitedError(
        f"{why}; the hub checks no more for now: try again in {refused.retry_after} seconds.", retry_after=refused.retry_after
    )
