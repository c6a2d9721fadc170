"""The Hub portal: a web page per hub (Recent and All tabs, search) and a page per executor.

Served from the gateway's :class:`~..index.ExecutorIndex`, never from the registry, so a page
view costs no registry round trip. Works without JavaScript (copy buttons are an
enhancement), loads nothing from outside the hub, and every page carries a
Content-Security-Policy that forbids inline script.

Private executors never appear to a visitor who has not unlocked them, and their pages
answer exactly like a missing one. An owner unlocks their own with NAME and SECRET: the
gateway then sets a short-lived signed cookie (HttpOnly, SameSite=Strict), and the unlock
form carries a CSRF token bound to a cookie of its own.
"""

from __future__ import annotations

import secrets
from importlib.resources import files
from typing import Any

import jinja2
from aiohttp import web

from ...core.catalog import human_size, human_time, paged, sorted_listing
from ...core.metadata import Visibility
from ...core.names import is_repository_path, jinahub_uri
from ...errors import RateLimitedError
from ...hubapi import JINA_PREFIX
from ..directory import split_path
from ..hub import Hub, hub_of
from ..identity import identify
from ..portal.readme import MAX_README_BYTES

UNLOCK_SECONDS = 600
UNLOCK_COOKIE = "hubpush_unlocked"
CSRF_COOKIE = "hubpush_csrf"
#: how long an unlock form stays valid after the page was served
CSRF_SECONDS = 3600
#: at most this many private executors unlocked in one browser at once
MAX_UNLOCKED = 16
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # not no-referrer: under it a browser sends "Origin: null" with the page's own unlock form,
    # which the same-origin check must refuse; same-origin still sends nothing to other sites
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_STATIC = {"portal.css": "text/css", "copy.js": "text/javascript"}
_PORTAL = files("hubpush.gateway.portal")
_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(_PORTAL / "templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
_templates.filters["when"] = human_time
_templates.filters["size"] = human_size


async def owned_by_caller(hub: Hub, request: web.Request) -> set[str]:
    """The private executors this visitor may see: proven by credentials, or unlocked in this browser."""
    owned = set(_unlocked(hub, request))
    if request.headers.get("Authorization"):
        caller = await identify(hub, request)
        if caller.proven:
            owned.add(caller.proven)
    return owned


# --- pages -----------------------------------------------------------------------------
async def home(request: web.Request) -> web.Response:
    """``/``: the Recent tab (newest push first) or the All tab (by name), with search and pages."""
    hub = hub_of(request)
    await hub.index.ready()
    tab = "all" if request.query.get("tab") == "all" else "recent"
    query = search_words(request)
    entries = sorted_listing(hub.index.visible_to(await owned_by_caller(hub, request)), "name" if tab == "all" else "recent", query)
    page = paged(entries, page_number(request))
    return _render(hub, request, "list.html", tab=tab, q=query, page=page)


async def executor_page(request: web.Request) -> web.Response:
    """``/executors/REPO``: everything about one executor, its README and copy-ready lines."""
    hub = hub_of(request)
    await hub.index.ready()
    repository = request.match_info["repository"]
    if repository.endswith("/") and is_repository_path(repository.rstrip("/")):
        # the page without the slash, whether it exists or not: a redirect tells nothing about private names
        raise web.HTTPPermanentRedirect(location=f"/executors/{repository.rstrip('/')}")
    entry = hub.index.get(repository)
    if entry is None or (entry.visibility is Visibility.PRIVATE and repository not in await owned_by_caller(hub, request)):
        return _locked(hub, request, repository)
    address = hub.address(request)
    tag = entry.tags[0].name if entry.tags else "latest"
    namespace, _ = split_path(repository)
    registry = f"{address}/{namespace}" if namespace else address
    lines = [
        ("docker", f"docker pull {address}/{repository}:{tag}"),
        ("hubpush", f"hubpush pull {entry.name} -t {tag} --registry {registry}"),
        ("Jina Flow", f"uses: docker://{address}/{repository}:{tag}"),
    ]
    if not namespace:  # Jina's names have no namespace: the Jina API resolves the hub's top level only
        uri = jinahub_uri(entry.name, tag, private=entry.visibility is Visibility.PRIVATE)
        lines.append(("Jina Hub", f"uses: {uri}   (JINA_HUBBLE_REGISTRY={hub.public_base(request)}{JINA_PREFIX})"))
    pending = [tag for tag in entry.protected_tags if tag not in {view.name for view in entry.tags}]
    return _render(
        hub, request, "executor.html", e=entry, q="", tab="", pull_lines=lines, pending_protected=pending,
        readme_html=entry.readme_html, readme_cap=MAX_README_BYTES,
    )  # fmt: skip


async def unlock(request: web.Request) -> web.Response:
    """``POST /executors/REPO/unlock``: an owner proves NAME and SECRET and sees their private page."""
    hub = hub_of(request)
    repository = request.match_info["repository"]
    if not is_repository_path(repository):
        return _locked(hub, request, repository)
    try:
        form = await request.post()
    except ValueError:  # UnicodeDecodeError: aiohttp decodes the form as UTF-8
        raise web.HTTPBadRequest(text="This form is not UTF-8 text; send it from the hub's page.") from None
    nonce = request.cookies.get(CSRF_COOKIE, "")
    if not _csrf_valid(hub, nonce, str(form.get("csrf", ""))) or not _same_origin(hub, request):
        raise web.HTTPForbidden(text="This form is stale or was not sent from this hub's page; reload the page and try again.")
    try:
        proven = await hub.directory.prove(str(form.get("name", ""))[:200], str(form.get("secret", ""))[:200], hub.client(request))
    except RateLimitedError as exc:
        limited = _locked(hub, request, repository, limited=exc.message, status=429)
        limited.headers["Retry-After"] = str(exc.retry_after)
        return limited
    if proven != repository:
        return _locked(hub, request, repository, failed=True)
    unlocked = [proven, *[r for r in _unlocked(hub, request) if r != proven]][:MAX_UNLOCKED]
    response = web.HTTPSeeOther(location=f"/executors/{repository}")
    response.set_cookie(
        UNLOCK_COOKIE, _sign_unlocked(hub, unlocked), max_age=UNLOCK_SECONDS, httponly=True, samesite="Strict", path="/",
        secure=hub.public_base(request).startswith("https://"),
    )  # fmt: skip
    raise response


async def favicon(request: web.Request) -> web.Response:
    """Browsers ask for it on every page; the hub has none (and loads nothing from elsewhere)."""
    return web.Response(status=204, headers={"Cache-Control": "max-age=86400"})


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in _STATIC:
        raise web.HTTPNotFound()
    body = (_PORTAL / "static" / name).read_bytes()
    return web.Response(body=body, content_type=_STATIC[name], headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"})


# --- helpers ---------------------------------------------------------------------------
def _render(hub: Hub, request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    html = _templates.get_template(template).render(hub_address=hub.address(request), **context)
    # "replace": text that cannot be UTF-8 (a lone surrogate) costs a character, never the page
    body = html.encode("utf-8", "replace")
    return web.Response(body=body, status=status, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS)


def _locked(hub: Hub, request: web.Request, repository: str, *, failed: bool = False, limited: str = "", status: int = 404) -> web.Response:
    """The answer for a missing executor and for a private one alike (with the owner's unlock form).

    ``limited``: the sentence of a refused check (too many wrong secrets), shown above the form."""
    nonce = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(16)
    response = _render(
        hub, request, "locked.html", status=status, repository=repository, unlock=is_repository_path(repository), q="", tab="",
        csrf=_csrf_token(hub, nonce), unlock_minutes=UNLOCK_SECONDS // 60, failed=failed, limited=limited,
    )  # fmt: skip
    response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="Strict", path="/")
    return response


def _csrf_token(hub: Hub, nonce: str) -> str:
    """The unlock form's token: bound to this browser's nonce cookie, and valid for CSRF_SECONDS."""
    return hub.signer.seal("hubpush-csrf", {"nonce": nonce}, CSRF_SECONDS)


def _csrf_valid(hub: Hub, nonce: str, token: str) -> bool:
    sealed = hub.signer.unseal("hubpush-csrf", token)
    return bool(nonce) and sealed is not None and sealed.get("nonce") == nonce


def _same_origin(hub: Hub, request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    return origin is None or origin == hub.public_base(request)


def _sign_unlocked(hub: Hub, repositories: list[str]) -> str:
    return hub.signer.seal("hubpush-portal", {"repositories": repositories}, UNLOCK_SECONDS)


def _unlocked(hub: Hub, request: web.Request) -> list[str]:
    """The repositories this browser unlocked, if its cookie is genuine and fresh."""
    sealed = hub.signer.unseal("hubpush-portal", request.cookies.get(UNLOCK_COOKIE, ""))
    repositories = sealed.get("repositories") if sealed else None
    return [r for r in repositories if isinstance(r, str)] if isinstance(repositories, list) else []


def search_words(request: web.Request) -> str:
    """``?q=``, blanks folded and cut at 200 characters (blanks only are no search)."""
    return " ".join(request.query.get("q", "").split())[:200]


def page_number(request: web.Request) -> int:
    text = request.query.get("page", "1")
    return int(text) if text.isdigit() and len(text) < 7 else 1
