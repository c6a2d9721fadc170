"""The portal's list template rendered alone: what a visitor reads around the cards."""

from __future__ import annotations

import re

import pytest

from hubpush.core.metadata import Visibility
from hubpush.gateway.handlers.portal import _templates
from hubpush.core.catalog import paged
from hubpush.gateway.index import Entry


def entry(number: int) -> Entry:
    stamp = f"2026-12-02T10:{number // 60:02d}:{number % 60:02d}Z"
    return Entry(
        repository=f"exec-{number:03d}", name=f"Exec{number:03d}", description="", keywords=(), visibility=Visibility.PUBLIC,
        created_at=stamp, last_push=stamp, tags=(), protected_tags=(), size=None, readme_html="", readme_summary="",
    )  # fmt: skip


@pytest.mark.parametrize(("tab", "back", "forward"), [("recent", "← Newer", "Older →"), ("all", "← Previous", "Next →")])
def test_page_links_say_newer_and_older_only_on_the_recent_tab(tab, back, forward):
    page = paged([entry(n) for n in range(120)], 2)
    html = _templates.get_template("list.html").render(hub_address="hub:5000", tab=tab, q="", page=page)
    links = dict(re.findall(r'<a rel="(prev|next)" href="[^"]*">([^<]*)</a>', html))
    assert links == {"prev": back, "next": forward}
    assert "Page 2 of 3" in html
