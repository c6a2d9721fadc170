"""``hubpush hub serve / up / down / status``: run a hub gateway, or a whole local hub."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from ..config import DEFAULT_REGISTRY, GATEWAY_PUBLISHER_TOKEN_ENV, GATEWAY_TOKEN_KEY_ENV, GATEWAY_UPSTREAM_ENV, REGISTRY_ENV
from .app import DebugOption, JsonOption, app, err, out, run
from .render import emit_json, render_check, render_hub

if TYPE_CHECKING:
    from ..consistency import CheckReport


hub_app = typer.Typer(
    help="Run a hub: the gateway that enforces secrets, visibility and protected tags.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(hub_app, name="hub")


@hub_app.command("serve")
def hub_serve(
    upstream: Annotated[
        Optional[str],
        typer.Option("--upstream", metavar="URL", help=f"The registry behind the gateway, e.g. http://10.0.0.5:5000; env {GATEWAY_UPSTREAM_ENV}."),
    ] = None,
    listen: Annotated[str, typer.Option("--listen", metavar="HOST:PORT", help="Where the gateway listens.")] = "127.0.0.1:5000",
    public_url: Annotated[
        Optional[str], typer.Option("--public-url", metavar="URL", help="The URL clients use, when a TLS proxy sits in front.")
    ] = None,
    token_key_file: Annotated[
        Optional[Path],
        typer.Option("--token-key-file", help=f"Key that signs login tokens (shared by all replicas); env {GATEWAY_TOKEN_KEY_ENV}."),
    ] = None,
    publisher_token_file: Annotated[
        Optional[Path],
        typer.Option(
            "--publisher-token-file", help=f"Only holders of this token may create executors; env {GATEWAY_PUBLISHER_TOKEN_ENV}."
        ),
    ] = None,
    verbose: DebugOption = False,
) -> None:
    """Serve the hub gateway in the foreground, in front of a registry only it can reach."""
    from ..gateway.app import serve
    from ..gateway.settings import GatewaySettings

    def action() -> None:
        settings = GatewaySettings.from_flags(
            upstream=upstream, listen=listen, public_url=public_url,
            token_key_file=token_key_file, publisher_token_file=publisher_token_file,
        )  # fmt: skip
        serve(settings, on_ready=lambda line: err.print(line, markup=False, highlight=False))

    run(action, as_json=False, verbose=verbose)


@hub_app.command("up")
def hub_up(
    port: Annotated[int, typer.Option("--port", help="Port of the gateway (the hub's address is localhost:PORT).")] = 5000,
    listen_host: Annotated[str, typer.Option("--listen-host", help="Interface the gateway listens on.")] = "127.0.0.1",
    publisher_token: Annotated[
        Optional[str],
        typer.Option("--publisher-token", envvar=GATEWAY_PUBLISHER_TOKEN_ENV, help="Only holders of it may create executors."),
    ] = None,
    as_json: JsonOption = False,
    verbose: DebugOption = False,
) -> None:
    """Start a local hub: registry:2 on a private Docker network, and the gateway in front of it."""
    from ..hub import hub_up as start

    status = run(lambda: start(port=port, listen_host=listen_host, publisher_token=publisher_token), as_json=as_json, verbose=verbose)
    render_hub(status.to_dict(), out, as_json=as_json, what="Hub running at" if status.started else "Hub already running at")


@hub_app.command("down")
def hub_down(
    remove_data: Annotated[bool, typer.Option("--remove-data", help="Also delete the registry's volume (every executor).")] = False,
    verbose: DebugOption = False,
) -> None:
    """Stop the local hub started by 'hubpush hub up'; its data is kept unless --remove-data."""
    from ..hub import hub_down as stop

    stopped = run(lambda: stop(remove_data=remove_data), as_json=False, verbose=verbose)
    out.print("Hub stopped." if stopped else "No hub was running.")


@hub_app.command("status")
def hub_status(as_json: JsonOption = False, verbose: DebugOption = False) -> None:
    """Say whether the local hub runs, and where."""
    from ..hub import hub_status as status_of

    status = run(status_of, as_json=as_json, verbose=verbose)
    if status is None:
        if as_json:
            emit_json({"running": False})
        else:
            out.print("No hub is running; start one with: hubpush hub up")
        raise typer.Exit(1)
    render_hub(status.to_dict(), out, as_json=as_json, what="Hub running at")


@hub_app.command("check")
def hub_check(
    registry: Annotated[
        Optional[str],
        typer.Option(
            "--registry", metavar="[http(s)://]HOST:PORT[/NAMESPACE]",
            help=f"The registry itself (a bare one, or the one behind a hub). Default: the local hub's registry, else ${REGISTRY_ENV}, else {DEFAULT_REGISTRY}.",
        ),
    ] = None,
    repair: Annotated[bool, typer.Option("--repair", help="Fix what is safe (the metadata only, never images) and say what was done.")] = False,
    as_json: JsonOption = False,
    verbose: DebugOption = False,
) -> None:
    """Compare every executor's metadata with what the registry holds; exit 44 when problems remain."""
    from ..consistency import check_registry, local_hub_registry
    from ..errors import InconsistentRegistryError

    def action() -> CheckReport:
        address = registry or local_hub_registry() or os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY
        return check_registry(address, repair=repair)

    report = run(action, as_json=as_json, verbose=verbose)
    render_check(report, out, as_json=as_json)
    if not report.consistent:
        raise typer.Exit(InconsistentRegistryError.exit_code)
