"""A README's Markdown as the hub reads it: one parser, and the first paragraph as plain text. Pure: no I/O.

The portal renders READMEs with :data:`MARKDOWN` (and sanitizes the HTML, in
:mod:`hubpush.gateway.portal.readme`); ``hubpush show`` and the hub API summarize them
with :func:`first_paragraph`, so both read a README the same way.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

#: CommonMark with raw HTML left in (READMEs use it for badges and tables), tables and strikethrough
MARKDOWN = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table").enable("strikethrough")


def first_paragraph(markdown: str, limit: int = 300) -> str:
    """The README's first paragraph of prose as plain text (for ``hubpush show`` and listings)."""
    tokens = MARKDOWN.parse(markdown)
    for index, token in enumerate(tokens):
        if token.type == "paragraph_open" and index + 1 < len(tokens):
            inline = tokens[index + 1]
            parts = [" " if child.type in ("softbreak", "hardbreak") else child.content for child in inline.children or []
                     if child.type in ("text", "code_inline", "softbreak", "hardbreak")]  # fmt: skip
            text = "".join(parts)
            text = " ".join(text.split())
            if text:
                return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    return ""
