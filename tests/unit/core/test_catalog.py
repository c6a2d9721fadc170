"""Search, order and pages: the rules the gateway's index and `hubpush list` share."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hubpush.core.catalog import PAGE_SIZE, human_size, human_time, last_push, matches, paged, sorted_listing, tag_views
from hubpush.core.metadata import ExecutorMetadata, Visibility
from hubpush.core.names import executor_paths


@dataclass(frozen=True)
class Item:
    name: str
    last_push: str
    description: str = ""
    keywords: tuple[str, ...] = ()
    repository: str = ""


ITEMS = [
    Item("beta", "2026-01-02T00:00:00Z", "Splits text into sentences", ("nlp", "text")),
    Item("Alpha", "2026-01-03T00:00:00Z", "Encodes images", ("vision",), repository="team/alpha"),
    Item("gamma", "2026-01-01T00:00:00Z", "Image cropper", ("Vision", "crop")),
]


def names(items):
    return [item.name for item in items]


def test_name_order_is_case_insensitive_and_recent_is_newest_first():
    assert names(sorted_listing(ITEMS, "name", "")) == ["Alpha", "beta", "gamma"]
    assert names(sorted_listing(ITEMS, "recent", "")) == ["Alpha", "beta", "gamma"]
    newest_last = [*ITEMS, Item("delta", "2026-02-01T00:00:00Z")]
    assert names(sorted_listing(newest_last, "recent", ""))[0] == "delta"


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("image", ["Alpha", "gamma"]),  # description, any case
        ("VISION", ["Alpha", "gamma"]),  # keywords
        ("vision crop", ["gamma"]),  # every word must appear
        ("nlp", ["beta"]),
        ("team", ["Alpha"]),  # the repository path
        ("  ", ["Alpha", "beta", "gamma"]),  # blank: everything
        ("nothing-like-this", []),
    ],
)
def test_search_reads_name_repository_description_and_keywords(query, found):
    assert names(sorted_listing(ITEMS, "name", query)) == found


def test_matches_one_item():
    assert matches(ITEMS[0], "SENTENCES text") and not matches(ITEMS[0], "sentences vision")


def test_pages_hold_page_size_items_and_clamp_the_number():
    items = [Item(f"e{i:03}", "t") for i in range(PAGE_SIZE * 2 + 1)]
    first, last = paged(items, 1), paged(items, 99)
    assert (first.number, first.pages, first.total, len(first.items)) == (1, 3, len(items), PAGE_SIZE)
    assert (last.number, names(last.items)) == (3, [f"e{PAGE_SIZE * 2:03}"])
    assert paged([], 0).number == 1 and paged([], 0).pages == 1


def test_tags_newest_first_with_protection_marked_and_last_push():
    meta = ExecutorMetadata("N", "n", Visibility.PUBLIC, "h", "t0", "t0", protected_tags=["v1"])
    assert last_push(meta) == "t0"  # a reserved NAME: when its metadata was written
    meta.record_push(["v1"], "sha256:a", "2026-01-01T00:00:00Z")
    meta.record_push(["latest"], "sha256:b", "2026-01-02T00:00:00Z")
    views = tag_views(meta)
    assert [(v.name, v.protected) for v in views] == [("latest", False), ("v1", True)]
    assert views[1].to_json() == {"tag": "v1", "digest": "sha256:a", "pushed_at": "2026-01-01T00:00:00Z", "protected": True}
    assert last_push(meta) == "2026-01-02T00:00:00Z"


def test_executors_in_a_catalog_are_the_repositories_with_metadata():
    catalog = ["hello", "hubpush-meta/hello", "team/ml/hubpush-meta/x", "team/ml/x", "other", "hubpush-meta/a/b"]
    assert executor_paths(catalog) == ["hello", "team/ml/x"]


def test_human_formats():
    assert human_time("2026-12-02T09:58:01Z") == "2026-12-02 09:58 UTC"
    assert human_time("whenever") == "whenever"
    assert [human_size(s) for s in (None, 999, 1500, 2_500_000, 3 * 10**12)] == ["unknown", "999 B", "1.5 KB", "2.5 MB", "3000.0 GB"]
