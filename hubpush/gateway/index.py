"""The gateway's index of every executor the registry holds, so pages and listings need no registry round trip.

Built when the gateway starts, updated at once for every push this gateway handles, and
refreshed on a short interval for pushes other replicas handled. A refresh reads the
registry's catalog and, per executor, only the digest of its metadata artifact: the
metadata, README and image size are read again only when that digest moved. Image sizes
are kept per manifest digest, which never changes what it names.

Entries hold no secret hash. Visibility is applied when an entry is read out, for the
caller at hand (:meth:`ExecutorIndex.visible_to`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from ..core.catalog import TagView, last_push, tag_views
from ..core.metadata import ExecutorMetadata, Visibility
from ..core.names import executor_paths
from ..errors import HubpushError
from ..hubapi import ListedExecutor
from .directory import ExecutorDirectory
from .portal.readme import ReadmeRenderer
from .refusal import Refusal
from .upstream import UpstreamRegistry

log = logging.getLogger("hubpush.gateway.index")

#: how often the index looks for pushes that other gateway replicas handled
DEFAULT_REFRESH_SECONDS = 15.0
_AT_ONCE = 8


@dataclass(frozen=True)
class Entry:
    """One executor as the portal and the listing show it."""

    repository: str
    name: str
    description: str
    keywords: tuple[str, ...]
    visibility: Visibility
    created_at: str
    last_push: str
    #: newest first
    tags: tuple[TagView, ...]
    protected_tags: tuple[str, ...]
    #: compressed bytes of the newest tag's image (config and layers); None when unknown
    size: int | None
    #: the README rendered and sanitized once, when the index read it, and its first paragraph
    readme_html: str
    readme_summary: str
    readme_truncated: bool = False

    @classmethod
    def of(
        cls, repository: str, metadata: ExecutorMetadata, tags: list[TagView], size: int | None, readme: tuple[str, str]
    ) -> Entry:
        """``tags`` are ``tag_views(metadata)``, newest first, as the index already computed them."""
        return cls(
            repository=repository,
            name=metadata.name,
            description=metadata.description,
            keywords=tuple(metadata.keywords),
            visibility=metadata.visibility,
            created_at=metadata.created_at,
            last_push=last_push(metadata),
            tags=tuple(tags),
            protected_tags=tuple(metadata.protected_tags),
            size=size,
            readme_html=readme[0],
            readme_summary=readme[1],
            readme_truncated=metadata.readme is not None and metadata.readme.truncated,
        )

    def listed(self, address: str, portal_url: str) -> ListedExecutor:
        """This entry as the hub API lists it."""
        return ListedExecutor(
            name=self.name,
            repository=self.repository,
            image=f"{address}/{self.repository}",
            description=self.description,
            keywords=list(self.keywords),
            visibility=self.visibility,
            created_at=self.created_at,
            last_push=self.last_push,
            tags=[view.to_json() for view in self.tags],
            protected_tags=list(self.protected_tags),
            size=self.size,
            portal_url=portal_url,
        )


@dataclass
class _Known:
    metadata_digest: str
    entry: Entry


@dataclass
class ExecutorIndex:
    directory: ExecutorDirectory
    registry: UpstreamRegistry
    refresh_seconds: float = DEFAULT_REFRESH_SECONDS
    renderer: ReadmeRenderer = field(default_factory=ReadmeRenderer)
    _known: dict[str, _Known] = field(default_factory=dict)
    _sizes: dict[str, int | None] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    # --- life cycle ------------------------------------------------------------------
    async def start(self) -> None:
        self._task = asyncio.create_task(self._keep_fresh())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.to_thread(self.renderer.close)

    async def ready(self, timeout: float = 10.0) -> None:
        """Wait (bounded) for the first full build, so the first page after a start is complete."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout)

    async def _keep_fresh(self) -> None:
        while True:
            try:
                await self.refresh_all()
            except (HubpushError, Refusal) as exc:  # the registry is away: keep what we have, try again later
                log.warning("the executor index could not be refreshed: %s", exc)
            except Exception:  # never let the refresher die: pages would go stale for ever
                log.exception("the executor index could not be refreshed")
            self._ready.set()
            await asyncio.sleep(self.refresh_seconds)

    # --- reading -----------------------------------------------------------------------
    def get(self, repository: str) -> Entry | None:
        known = self._known.get(repository)
        return known.entry if known else None

    def visible_to(self, owned: set[str]) -> list[Entry]:
        """Public executors, and the private ones whose repository is in ``owned``."""
        return [
            known.entry
            for known in self._known.values()
            if known.entry.repository in owned or (known.entry.visibility is Visibility.PUBLIC and known.entry.tags)
        ]  # an executor with no tag yet (a NAME reserved by a failed first publish) is listed for its owner only

    def repositories(self) -> list[str]:
        return sorted(self._known)

    # --- writing -----------------------------------------------------------------------
    async def refresh_all(self) -> None:
        """Bring every entry up to date with the registry: new, changed and removed executors."""
        repositories = await self._executor_repositories()
        limit = asyncio.Semaphore(_AT_ONCE)

        async def one(repository: str) -> None:
            async with limit:
                await self.refresh(repository)

        await asyncio.gather(*(one(repository) for repository in repositories))
        for gone in set(self._known) - set(repositories):
            del self._known[gone]

    async def refresh(self, repository: str) -> None:
        """Re-read one executor if its metadata changed (a push this gateway handled calls this at once)."""
        digest = await self.directory.current_digest(repository)
        if digest is None:
            self._known.pop(repository, None)
            return
        known = self._known.get(repository)
        if known is not None and known.metadata_digest == digest:
            return
        metadata = await self.directory.read(repository)
        if metadata is None:
            self._known.pop(repository, None)
            return
        rendered = await asyncio.to_thread(self.renderer.render, await self.directory.readme(repository, metadata))
        tags = tag_views(metadata)
        size = await self._size(repository, tags[0].digest) if tags else None
        self._known[repository] = _Known(digest, Entry.of(repository, metadata, tags, size, rendered))

    async def _size(self, repository: str, digest: str) -> int | None:
        """The image size of the newest tag, the one the portal's pull lines name."""
        if digest not in self._sizes:
            self._sizes[digest] = await self.directory.image_size(repository, digest)
        return self._sizes[digest]

    async def _executor_repositories(self) -> list[str]:
        """Executors are the repositories that have a metadata repository: ``[ns/]hubpush-meta/REPO`` -> ``[ns/]REPO``."""
        return executor_paths(await self.registry.catalog())

