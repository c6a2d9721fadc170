"""README rendering: Markdown to HTML, then sanitized, over a corpus of XSS payloads."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from hubpush.gateway.portal.readme import render_readme

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//x.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<img src=\"javascript:alert(1)\">",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
    "<a href=\"&#106;avascript:alert(1)\">x</a>",
    "<a href=\"java\tscript:alert(1)\">x</a>",
    "[x](javascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "<svg onload=alert(1)><circle/></svg>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><script>alert(1)</script></mtext></math>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<iframe src=\"https://x.example\"></iframe>",
    "<object data=x></object><embed src=x>",
    "<form action=x><input name=a><button>go</button></form>",
    "<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\">",
    "<base href=\"https://x.example/\">",
    "<link rel=stylesheet href=x>",
    "<details open ontoggle=alert(1)>x</details>",
    "<body onload=alert(1)>",
    "<img src=x onerror=alert(1)//",
    "<<script>script>alert(1)<</script>/script>",
    "<scr<script>ipt>alert(1)</script>",
    "<a href=x onclick=alert(1)>x</a>",
    "<p title=\"x\" onmouseover=\"alert(1)\">x</p>",
    "<!--<script>alert(1)//-->",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    "<table><td background=javascript:alert(1)>x</td></table>",
    "<a href=\"vbscript:msgbox(1)\">x</a>",
    "<template><script>alert(1)</script></template>",
]


ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "summary", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip


class Elements(HTMLParser):
    """Every element and attribute of the rendered HTML, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_survives_with_anything_that_runs(payload):
    html = render_readme(f"# Title\n\n{payload}\n\ntext after\n")
    parser = Elements()
    parser.feed(html)
    for tag, attributes in parser.found:
        assert tag in ALLOWED_TAGS, (tag, html)
        for name, value in attributes:
            assert not name.startswith("on") and name != "style", (name, html)
            if name in ("href", "src", "background"):
                scheme = re.sub(r"[\x00-\x20]", "", value or "").lower().partition(":")[0]
                assert scheme in ("http", "https", "mailto") or ":" not in (value or ""), (value, html)
    assert "text after" in html  # the rest of the README still renders


def test_ordinary_markdown_renders_with_tables_code_and_links():
    html = render_readme("# Hello\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nprint(1)\n```\n\n[docs](https://example.com)")
    assert "<h1>Hello</h1>" in html and "<table>" in html and "<td>1</td>" in html
    assert "<code>print(1)" in html
    assert 'href="https://example.com"' in html and 'rel="noopener noreferrer nofollow"' in html


def test_a_readme_that_overruns_its_budget_is_shown_as_escaped_text_and_the_worker_is_replaced():
    from hubpush.gateway.portal.readme import ReadmeRenderer

    renderer = ReadmeRenderer(budget_seconds=0.05)
    try:
        html, summary = renderer.render("<b>x</b> " + "[_" * 32760)
        assert html.startswith('<pre class="readme-text">&lt;b&gt;x&lt;/b&gt;') and summary == ""
        renderer.budget_seconds = 30.0
        assert renderer.render("# Fine\n\nok") == ("<h1>Fine</h1>\n<p>ok</p>\n", "ok")  # a fresh worker serves the next
    finally:
        renderer.close()
