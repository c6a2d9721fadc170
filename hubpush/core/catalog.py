"""The executor catalog as people browse it: search, order, pages, and how a card reads. Pure: no I/O.

One set of rules for every listing: the gateway's index (the portal and the listing API) and
``hubpush list`` against a bare registry search, order and page executors with these very
functions, so a hub and a bare registry list alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from .metadata import ExecutorMetadata

#: executors on one page of the portal, the listing API and ``hubpush list``
PAGE_SIZE = 50
#: ``recent``: newest push first (the portal's Recent tab); ``name``: alphabetically (the All tab)
SORTS = ("recent", "name")


class Listable(Protocol):
    """What searching and ordering read of an executor."""

    @property
    def name(self) -> str: ...
    @property
    def repository(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def keywords(self) -> Sequence[str]: ...
    @property
    def last_push(self) -> str: ...


L = TypeVar("L", bound=Listable)


def matches(item: Listable, query: str) -> bool:
    """Every word of ``query`` appears in the name, the repository, the description or a keyword (case-insensitive)."""
    haystack = " ".join([item.name, item.repository, item.description, *item.keywords]).casefold()
    return all(word in haystack for word in query.casefold().split())


def sorted_listing(items: Iterable[L], sort: str, query: str) -> list[L]:
    """Search, then order: ``recent`` newest push first, ``name`` alphabetically."""
    found = [item for item in items if matches(item, query)] if query.strip() else list(items)
    if sort == "recent":
        return sorted(found, key=lambda item: (item.last_push, item.name.casefold()), reverse=True)
    return sorted(found, key=lambda item: (item.name.casefold(), item.repository))


@dataclass(frozen=True)
class Page(Generic[L]):
    items: list[L]
    number: int
    pages: int
    total: int


def paged(items: list[L], number: int) -> Page[L]:
    """Page ``number`` (1-based, clamped to the pages there are) of ``PAGE_SIZE`` items."""
    pages = max(1, math.ceil(len(items) / PAGE_SIZE))
    number = min(max(1, number), pages)
    start = (number - 1) * PAGE_SIZE
    return Page(items[start : start + PAGE_SIZE], number, pages, len(items))


@dataclass(frozen=True)
class TagView:
    """One tag as a listing shows it."""

    name: str
    digest: str
    pushed_at: str
    protected: bool

    def to_json(self) -> dict[str, Any]:
        return {"tag": self.name, "digest": self.digest, "pushed_at": self.pushed_at, "protected": self.protected}


def tag_views(metadata: ExecutorMetadata) -> list[TagView]:
    """The tags hubpush pushed, newest first, protected ones marked."""
    protected = set(metadata.protected_tags)
    return sorted(
        (TagView(tag, record.digest, record.pushed_at, tag in protected) for tag, record in metadata.tags.items()),
        key=lambda view: (view.pushed_at, view.name),
        reverse=True,
    )


def last_push(metadata: ExecutorMetadata) -> str:
    """When a tag was last pushed (a reserved NAME without tags: when its metadata was written)."""
    return max((record.pushed_at for record in metadata.tags.values()), default=metadata.updated_at)


def human_time(stamp: str) -> str:
    """``2026-12-02T09:58:01Z`` -> ``2026-12-02 09:58 UTC`` (anything else as it is)."""
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return stamp


def human_size(size: int | None) -> str:
    """Bytes in decimal units (``12.3 MB``), or ``unknown``."""
    if size is None:
        return "unknown"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # unreachable: GB ends the loop
