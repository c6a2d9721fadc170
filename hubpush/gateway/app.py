"""The gateway application: one :func:`create_app` wires the surfaces, one middleware chain answers refusals.

| surface | module | paths |
|---|---|---|
| OCI distribution API, proxied | :mod:`.handlers.distribution` | ``/v2/...`` |
| registry token service | :mod:`.handlers.token` | ``/hubpush/v1/token`` |
| hub API (``hubpush push``/``show``) | :mod:`.handlers.hub_api` | ``/hubpush/v1/info``, ``/hubpush/v1/executors/REPO[/push|/abort]`` |
| portal | :mod:`.handlers.portal` | ``/``, ``/executors/REPO``, ``/static/...`` |
| Jina Hub API (``jina hub push``, ``jinahub+docker://``) | :mod:`.handlers.jina_api` | ``/jina/v2/rpc/...``, ``/jina/source/REPO`` |

Every decision is made by the pure modules (:mod:`hubpush.core.policy`, :mod:`.access`,
:mod:`.forwarding`); handlers read and write through :mod:`.directory` and reach the registry
only through :mod:`.upstream`.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from aiohttp import web

from .. import hubapi
from ..errors import HubStartError
from . import jina_wire
from .access_log import GatewayAccessLog
from .handlers import distribution, hub_api, jina_api, portal, token
from .hub import HUB, Hub
from .middleware import MIDDLEWARES
from .settings import GatewaySettings

log = logging.getLogger("hubpush.gateway")

#: the largest request body the gateway reads whole (a manifest, a hub API body); blobs stream
MAX_BODY_BYTES = 4 << 20


def create_app(settings: GatewaySettings) -> web.Application:
    """The gateway for ``settings``, ready for ``web.run_app`` or a test server."""
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=MIDDLEWARES)
    hub = Hub.from_settings(settings)
    app[HUB] = hub
    setup_routes(app)

    async def open_registry(_: web.Application) -> None:
        await hub.registry.open()
        await hub.index.start()  # built in the background: the gateway answers at once

    async def close_registry(_: web.Application) -> None:
        await hub.index.stop()
        await hub.registry.close()

    app.on_startup.append(open_registry)
    app.on_cleanup.append(close_registry)
    return app


def setup_routes(app: web.Application) -> None:
    executor = hubapi.executor_path("{repository:.+}")
    app.router.add_get(hubapi.INFO_PATH, hub_api.info)
    app.router.add_get(hubapi.TOKEN_PATH, token.token)
    app.router.add_post(hubapi.TOKEN_PATH, token.oauth_token)
    app.router.add_post(hubapi.ACCESS_TOKENS_PATH, token.access_token)
    app.router.add_post(hubapi.push_path("{repository:.+}"), hub_api.begin_push)
    app.router.add_post(hubapi.abort_path("{repository:.+}"), hub_api.abort_push)
    app.router.add_get(executor, hub_api.executor)
    app.router.add_get(hubapi.LISTING_PATH, hub_api.listing)
    app.router.add_get("/", portal.home)
    app.router.add_get("/executors/{repository:.+}", portal.executor_page)
    app.router.add_post("/executors/{repository:.+}/unlock", portal.unlock)
    app.router.add_get("/static/{name}", portal.static)
    app.router.add_get("/favicon.ico", portal.favicon)
    app.router.add_post(jina_wire.WHOAMI, jina_api.whoami)
    app.router.add_post(jina_wire.LIST_REGISTRIES, jina_api.list_registries)
    app.router.add_post(jina_wire.PUSH, jina_api.push)
    app.router.add_post(jina_wire.UPDATE, jina_api.update)
    app.router.add_post(jina_wire.GET_PACKAGE, jina_api.get_package)
    app.router.add_post(jina_wire.LIST_TASKS, jina_api.list_tasks)
    app.router.add_post(jina_wire.QUERY_PROGRESS, jina_api.query_progress)
    app.router.add_get(jina_wire.SOURCE + "/{repository:.+}", jina_api.source)
    app.router.add_route("*", "/v2", distribution.distribution)
    app.router.add_route("*", "/v2/{tail:.*}", distribution.distribution)


def serve(settings: GatewaySettings, on_ready: Any = None) -> None:
    """Run the gateway until interrupted."""
    check_port(settings.host, settings.port)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if settings.ephemeral_key:
        log.warning("no token key configured: tokens are valid only for this process; set one for several replicas")
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=on_ready,
        access_log=logging.getLogger("hubpush.gateway.access"),
        access_log_class=GatewayAccessLog,
        handle_signals=True,
    )


def check_port(host: str, port: int) -> None:
    """Refuse a taken port with a sentence, before anything is logged.

    The probe binds exactly as aiohttp will (``SO_REUSEADDR``): a plain bind fails for a
    minute after a restart, while the last run's connections sit in TIME-WAIT, though the
    server's own bind would work.
    """
    try:
        with socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET):
            pass
    except OSError as exc:
        raise HubStartError(
            f"The gateway cannot listen on {host}:{port} ({exc.strerror}); stop what uses it or pick another --listen."
        ) from None
