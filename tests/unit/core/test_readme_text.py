"""A README's first paragraph, as `hubpush show` and the hub API summarize it."""

from __future__ import annotations

from hubpush.core.readme_text import first_paragraph


def test_the_first_paragraph_is_plain_text():
    assert first_paragraph("# Title\n\n![b](x) A **bold**\nexecutor.\n\nSecond.") == "A bold executor."
    assert first_paragraph("# Only a title") == ""
    assert first_paragraph("x " * 400).endswith("…")


def test_code_spans_count_as_text_and_html_blocks_do_not():
    assert first_paragraph("<div align=center><img src=x></div>\n\nRun `hubpush push` here.") == "Run hubpush push here."
    assert first_paragraph("") == ""
