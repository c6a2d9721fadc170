"""An executor's README as safe HTML: Markdown rendered by markdown-it-py, then sanitized by nh3.

The README is the publisher's text, shown to every visitor, so it is hostile input. The
renderer leaves raw HTML in (READMEs use it for badges and tables) and the sanitizer then
keeps only an allow-list of tags and attributes: no script, no style, no event handlers, no
iframes or forms, and links only to ``http``, ``https`` and ``mailto``. The portal's
Content-Security-Policy forbids inline script as well, so anything that slipped through
still could not run.
"""

from __future__ import annotations

import html
import multiprocessing
import multiprocessing.pool
import threading

import nh3

from ...core.readme_text import MARKDOWN, first_paragraph
from ...hubapi import MAX_README_BYTES

__all__ = ["MAX_README_BYTES", "first_paragraph", "render_readme"]


_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "summary", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    # no src: the CSP would block other sites' images anyway, and same-origin ones would turn every
    # page view into requests to the hub; browsers show the alt text instead
    "img": {"alt", "title", "width", "height"},
    "td": {"align"},
    "th": {"align"},
}
#: how long one README may take to render before it is shown as plain text
RENDER_SECONDS = 2.0


def render_readme(markdown: str) -> str:
    """Sanitized HTML for ``markdown``."""
    html = MARKDOWN.render(markdown)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render_for_portal(markdown: str) -> tuple[str, str]:
    """The sanitized HTML and the first paragraph, in one go (what a render worker returns)."""
    return render_readme(markdown), first_paragraph(markdown)


def plain_fallback(markdown: str) -> tuple[str, str]:
    """What the portal shows for a README that took too long to render: the text itself, escaped."""
    return f'<pre class="readme-text">{html.escape(markdown)}</pre>', ""


class ReadmeRenderer:
    """Renders READMEs in a separate process, each within a time budget.

    Markdown parsing is pure Python and some 64 KiB inputs take seconds (``"[_" * 32760``):
    run in the gateway itself, one such README would stall every request it serves. Here a
    render that overruns ends its worker, and the README is shown as escaped text instead.
    Renders happen once per pushed README (the index keeps the result), never per page view.
    """

    def __init__(self, budget_seconds: float = RENDER_SECONDS) -> None:
        self.budget_seconds = budget_seconds
        self._pool: multiprocessing.pool.Pool | None = None
        self._lock = threading.Lock()  # one render at a time: the pool has one worker

    def render(self, markdown: str) -> tuple[str, str]:
        """Blocking: call from a worker thread (``asyncio.to_thread``)."""
        if not markdown:
            return "", ""
        with self._lock:
            if self._pool is None:
                self._pool = multiprocessing.get_context("spawn").Pool(processes=1, maxtasksperchild=500)
            pending = self._pool.apply_async(render_for_portal, (markdown,))
            try:
                return pending.get(timeout=self.budget_seconds)
            except multiprocessing.TimeoutError:
                self._pool.terminate()  # the only way to stop a render that runs away
                self._pool = None
                return plain_fallback(markdown)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.terminate()
                self._pool = None
