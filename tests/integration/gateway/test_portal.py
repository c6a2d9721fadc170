"""The portal's HTTP surface and the listing API, against a real gateway and registry:2.

(What a person sees in a browser is tested with Chromium in tests/e2e/test_portal.py.)
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pytest
import requests

from tests.conftest import cli_publisher, running_gateway, running_registry

HOSTILE_README = """# Hostile

Looks **harmless**.

<script>window.__pwned = 1</script>
<img src=x onerror="window.__pwned = 2">
[click](javascript:window.__pwned=3)
<iframe src="https://example.com"></iframe>
"""


@dataclass(frozen=True)
class Published:
    out: dict
    repository: str


@pytest.fixture(scope="module")
def hub(docker_client, tmp_path_factory):
    """A hub of this module's own, so listings hold exactly what the tests published."""
    with running_registry(docker_client) as behind:
        with running_gateway(behind, tmp_path_factory.mktemp("portal-gateway"), env={"HUBPUSH_GATEWAY_INDEX_SECONDS": "1"}) as gateway:
            yield gateway


@pytest.fixture(scope="module")
def executors(hub, tmp_path_factory) -> dict[str, Published]:
    publish = cli_publisher(hub.address, tmp_path_factory.mktemp("portal-cli"))
    made = {}
    for key, args, files, config in [
        ("alpha", ("--protected-tag", "1.0"), {"manifest.yml": "keywords: [audio, whisper]\n"}, "  description: transcribes speech\n"),
        ("hostile", (), {"README.md": HOSTILE_README}, "  description: renders a hostile readme\n"),
        ("private", ("--private",), {"README.md": "# Secret stuff\n\nOnly for owners.\n"}, "  description: hidden from strangers\n"),
    ]:
        out, repository = publish(*args, files=files, config=config, prefix=key.capitalize())
        made[key] = Published(out, repository)
        time.sleep(1.1)  # push times have a resolution of one second: keep "newest first" meaningful
    return made


def listing(hub, **params) -> dict:
    response = requests.get(f"{hub.url}/hubpush/v1/executors", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def names(page: dict) -> list[str]:
    return [e["name"] for e in page["executors"]]


def test_the_listing_shows_public_executors_newest_first_and_hides_private_ones(hub, executors):
    page = listing(hub)
    assert names(page) == [executors["hostile"].out["name"], executors["alpha"].out["name"]]
    alpha = page["executors"][1]
    assert alpha["keywords"] == ["audio", "whisper"] and alpha["description"] == "transcribes speech"
    assert alpha["tags"] == [{"tag": "1.0", "digest": executors["alpha"].out["digest"], "pushed_at": alpha["last_push"], "protected": True}]
    assert alpha["size"] > 0 and alpha["portal_url"] == f"{hub.url}/executors/{executors['alpha'].repository}"
    assert executors["private"].out["name"] not in str(page)


def test_the_listing_sorts_by_name_and_searches_descriptions_and_keywords(hub, executors):
    assert names(listing(hub, sort="name")) == sorted(names(listing(hub)), key=str.casefold)
    assert names(listing(hub, q="WHISPER")) == [executors["alpha"].out["name"]]
    assert names(listing(hub, q="hostile readme")) == [executors["hostile"].out["name"]]
    assert listing(hub, q="nothing-like-this")["total"] == 0
    bad = requests.get(f"{hub.url}/hubpush/v1/executors", params={"sort": "size"}, timeout=10)
    assert bad.status_code == 400 and "sort must be" in bad.json()["errors"][0]["message"]


def test_an_owner_sees_their_private_executor_in_the_listing_and_the_catalog(hub, executors):
    private = executors["private"]
    auth = (private.out["name"], private.out["secret"])
    mine = requests.get(f"{hub.url}/hubpush/v1/executors", auth=auth, timeout=10).json()
    assert private.out["name"] in names(mine)
    assert private.repository not in requests.get(f"{hub.url}/v2/_catalog", timeout=10).text
    token = requests.get(f"{hub.url}/hubpush/v1/token", auth=auth, timeout=10).json()["token"]
    catalog = requests.get(f"{hub.url}/v2/_catalog", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    assert private.repository in catalog["repositories"]


def test_a_push_shows_at_once_without_waiting_for_a_refresh(hub, executors, tmp_path):
    publish = cli_publisher(hub.address, tmp_path)
    out, _ = publish(prefix="Fresh")
    assert listing(hub)["executors"][0]["name"] == out["name"]


def test_the_detail_page_has_the_pull_lines_tags_and_a_sanitized_readme_under_a_strict_csp(hub, executors):
    hostile = executors["hostile"]
    page = requests.get(f"{hub.url}/executors/{hostile.repository}", timeout=10)
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    html = page.text
    assert f"docker pull {hub.address}/{hostile.repository}:latest" in html
    assert f"hubpush pull {hostile.out['name']} -t latest --registry {hub.address}" in html
    assert f"uses: docker://{hub.address}/{hostile.repository}:latest" in html
    assert "<h1>Hostile</h1>" in html and "<strong>harmless</strong>" in html
    readme = html[html.index('class="markdown"') : html.index("</section>", html.index('class="markdown"'))]
    assert "<script" not in readme and "<iframe" not in readme and not re.search(r"<[^>]+\son\w+=", readme), readme
    assert not re.search(r"href=\"\s*javascript:", readme), readme  # the link is left as plain text
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/copy.js" defer>']  # the portal's own, nothing inline
    alpha = requests.get(f"{hub.url}/executors/{executors['alpha'].repository}", timeout=10).text
    assert 'class="protected"' in alpha and "protected" in alpha and executors["alpha"].out["digest"] in alpha


def test_a_private_executors_page_answers_exactly_like_a_missing_one(hub, executors):
    private = executors["private"]
    hidden = requests.get(f"{hub.url}/executors/{private.repository}", timeout=10)
    missing = requests.get(f"{hub.url}/executors/{private.repository}-missing", timeout=10)
    assert hidden.status_code == missing.status_code == 404
    assert "Secret stuff" not in hidden.text and "hidden from strangers" not in hidden.text

    def scrub(text: str, repository: str) -> str:
        return re.sub(r'name="csrf" value="[^"]*"', "", text).replace(repository, "REPO")

    assert scrub(hidden.text, private.repository) == scrub(missing.text, f"{private.repository}-missing")
    home = requests.get(f"{hub.url}/?tab=all", timeout=10).text
    assert private.out["name"] not in home


def _unlock(session: requests.Session, hub, repository: str, name: str, secret: str, **extra_headers: str) -> requests.Response:
    locked = session.get(f"{hub.url}/executors/{repository}", timeout=10)
    csrf = re.search(r'name="csrf" value="([^"]+)"', locked.text)[1]
    return session.post(
        f"{hub.url}/executors/{repository}/unlock",
        data={"name": name, "secret": secret, "csrf": csrf},
        headers=extra_headers,
        allow_redirects=False,
        timeout=30,
    )


def test_an_owner_unlocks_a_private_page_with_name_and_secret(hub, executors):
    private = executors["private"]
    session = requests.Session()
    wrong = _unlock(session, hub, private.repository, private.out["name"], "not-the-secret-at-all-x")
    assert wrong.status_code == 404 and "Incorrect NAME or SECRET" in wrong.text
    right = _unlock(session, hub, private.repository, private.out["name"], private.out["secret"])
    assert right.status_code == 303 and right.headers["Location"] == f"/executors/{private.repository}"
    cookie = right.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=600" in cookie
    page = session.get(f"{hub.url}/executors/{private.repository}", timeout=10)
    assert page.status_code == 200 and "Secret stuff" in page.text
    assert private.out["secret"] not in page.text and private.out["secret"] not in cookie
    assert private.out["name"] in session.get(f"{hub.url}/", timeout=10).text
    # the cookie unlocks that executor only, and only while it is genuine
    forged = requests.get(f"{hub.url}/executors/{private.repository}", cookies={"hubpush_unlocked": "e30.x"}, timeout=10)
    assert forged.status_code == 404


def test_the_unlock_form_refuses_posts_without_its_csrf_token_or_from_elsewhere(hub, executors):
    private = executors["private"]
    auth = {"name": private.out["name"], "secret": private.out["secret"]}
    bare = requests.post(f"{hub.url}/executors/{private.repository}/unlock", data=auth, allow_redirects=False, timeout=10)
    assert bare.status_code == 403 and "Set-Cookie" not in bare.headers
    elsewhere = _unlock(requests.Session(), hub, private.repository, **auth, Origin="https://evil.example")
    assert elsewhere.status_code == 403 and "hubpush_unlocked" not in elsewhere.headers.get("Set-Cookie", "")


def test_static_files_and_pages_carry_no_external_references(hub, executors):
    for path in ["/", "/?tab=all", f"/executors/{executors['alpha'].repository}", "/static/portal.css", "/static/copy.js"]:
        response = requests.get(f"{hub.url}{path}", timeout=10)
        assert response.status_code == 200, path
        assert not re.search(r"(src|href)=\"(https?:)?//", response.text), path
        assert "@import" not in response.text and "url(http" not in response.text
    assert requests.get(f"{hub.url}/static/../app.py", timeout=10).status_code == 404


# --- found by the outsider review of the portal ---------------------------------------------------
def _publish_metadata_only(hub, name: str, readme: str = "", **fields) -> tuple[str, str]:
    """A first publish through the hub API alone, as any client may send it: no image, no tag."""
    import base64
    import secrets as _secrets

    from hubpush.core.names import repository_for

    secret = _secrets.token_urlsafe(32)
    body = {"name": name, "is_update": False, "tags": [], "protected_tags": [], "visibility": "public",
            "description": fields.pop("description", ""), "dry_run": False, **fields}  # fmt: skip
    if readme:
        body.update(readme=readme, readme_truncated=False)
    repository = repository_for(name)
    auth = "Basic " + base64.b64encode(f"{name}:{secret}".encode()).decode()
    answer = requests.post(f"{hub.url}/hubpush/v1/executors/{repository}/push", json=body, headers={"Authorization": auth}, timeout=60)
    assert answer.status_code == 200, answer.text
    return repository, secret


def test_a_readme_that_is_slow_to_render_never_stalls_the_gateway(hub):
    import threading

    pushing = threading.Thread(target=_publish_metadata_only, args=(hub, "SlowReadme", "[_" * 32760))
    pushing.start()
    slowest = 0.0
    while pushing.is_alive():
        started = time.perf_counter()
        assert requests.get(f"{hub.url}/hubpush/v1/info", timeout=10).ok
        slowest = max(slowest, time.perf_counter() - started)
        time.sleep(0.05)
    pushing.join()
    assert slowest < 0.5, f"the gateway stalled for {slowest:.1f} s while a README rendered"
    page = requests.get(f"{hub.url}/executors/slow-readme", timeout=10)
    # rendered within the budget, or shown as escaped text past it (how fast depends on the machine)
    assert page.status_code == 200 and ('class="readme-text"' in page.text or 'class="markdown"' in page.text)
    started = time.perf_counter()
    requests.get(f"{hub.url}/executors/slow-readme", timeout=10)
    assert time.perf_counter() - started < 0.5  # rendered once, served from the index


def test_text_that_is_not_valid_unicode_is_refused_and_never_breaks_a_page(hub):
    raw = '{"name": "SurrogateKw", "is_update": false, "tags": [], "protected_tags": [], "visibility": "public", "description": "hi \\ud800", "dry_run": false}'
    answer = requests.post(
        f"{hub.url}/hubpush/v1/executors/surrogate-kw/push", data=raw, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert answer.status_code == 400 and "not valid UTF-8 text" in answer.json()["errors"][0]["message"]
    assert requests.get(f"{hub.url}/", timeout=10).status_code == 200


def test_readme_images_make_no_requests_and_executors_without_tags_stay_unlisted(hub):
    repository, _ = _publish_metadata_only(hub, "ImageReadme", '# Pics\n\n<img src="/hubpush/v1/executors/x" alt="a chart">\n')
    page = requests.get(f"{hub.url}/executors/{repository}", timeout=10).text
    assert 'alt="a chart"' in page and "/hubpush/v1/executors/x" not in page
    assert "ImageReadme" not in str(listing(hub, sort="name"))  # no tag yet: nothing to pull
    response = requests.get(f"{hub.url}/hubpush/v1/executors", timeout=10)
    assert response.headers["Cache-Control"] == "no-store" and "Cookie" in response.headers["Vary"]


def test_a_cookie_or_token_with_undecodable_bytes_is_merely_wrong(hub, executors):
    from tests.integration.gateway.test_forwarding import raw_request, send_raw

    home = send_raw(hub.address, raw_request("GET", "/", [(b"Cookie", b"hubpush_unlocked=a.\xff\xfe")]))
    assert home.status == 200, home
    bearer = send_raw(hub.address, raw_request("GET", "/hubpush/v1/executors", [(b"Authorization", b"Bearer a.\xff")]))
    assert bearer.status == 401, bearer
