"""An executor's README as safe HTML: Markdown rendered by markdown-it-py, then sanitized by nh3.

The README is the publisher's text, shown to every visitor, so it is hostile input. The
renderer leaves raw HTML in (READMEs use it for badges and tables) and the sanitizer then
keeps only an allow-list of tags and attributes: no script, no style, no event handlers, no
iframes or forms, and links only to ``http``, ``https`` and ``mailto``. The portal's
Content-Security-Policy forbids inline script as well, so anything that slipped through
still could not run.
"""

from __future__ import annotations

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
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align"},
    "th": {"align"},
    "code": {"class"},
}


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
