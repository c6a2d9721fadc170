"""The ``hubpush`` command line. Thin: parse flags, call one service, render the result.

Errors become output in exactly one place, :func:`_run`: a user-facing
:class:`~hubpush.errors.HubpushError` prints its sentence and exits with its code;
nothing else prints a traceback unless ``--verbose`` asks for it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from . import __version__
from .errors import HubpushError
from .push import PushResult, push_executor
from .pull import PullResult, pull_executor
from .render import CliReporter, emit_json, render_hub, render_pull, render_push, render_show
from .settings import DEFAULT_BASE_IMAGE, DEFAULT_REGISTRY, PushSettings
from .show import ExecutorView, show_executor

INTERNAL_ERROR_EXIT = 70
app = typer.Typer(
    name="hubpush",
    help="Publish Jina-style executors as container images to an OCI registry you own.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # help texts are plain text: "[http(s)://]HOST:PORT[/NAMESPACE]" is not rich markup
    rich_markup_mode=None,
)
# piped output (CI logs, `| less`) gets room for full digests instead of rich's 80-column default
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)
T = TypeVar("T")

RegistryOption = Annotated[
    str,
    typer.Option("--registry", envvar="HUBPUSH_REGISTRY", help="Registry [http(s)://]HOST:PORT[/NAMESPACE].", show_default=True),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON object on stdout, nothing else.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show the full build and push log.")]
DebugOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show a traceback if hubpush itself fails.")]


def _run(action: Callable[[], T], *, as_json: bool, verbose: bool) -> T:
    """Run a service call; turn any failure into one sentence and an exit code."""
    try:
        return action()
    except HubpushError as exc:
        _print_error(exc.kind, exc.message, exc.exit_code, as_json=as_json, detail=exc.detail)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("Interrupted.")
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug in hubpush, not a user mistake
        if verbose:
            err.print_exception()
        message = f"hubpush hit an internal error ({exc.__class__.__name__}: {exc}); rerun with --verbose and report it."
        _print_error("internal", message, INTERNAL_ERROR_EXIT, as_json=as_json)
        raise typer.Exit(INTERNAL_ERROR_EXIT) from None


def _print_error(kind: str, message: str, exit_code: int, *, as_json: bool, detail: str | None = None) -> None:
    """One JSON object on stdout with --json, else the sentence (after any log tail) on stderr."""
    if as_json:
        emit_json({"error": {"kind": kind, "message": message, "exit_code": exit_code}})
        return
    if detail:
        err.print(detail, markup=False, highlight=False, style="dim")
    err.print(Text.assemble(("Error: ", "bold red"), message), highlight=False)


@app.command()
def push(
    path: Annotated[Path, typer.Argument(help="The executor folder (config.yml, Python modules, requirements.txt, ...).")],
    public: Annotated[bool, typer.Option("--public", help="Anyone may pull it (default for new executors).")] = False,
    private: Annotated[bool, typer.Option("--private", help="Only holders of the secret may pull it.")] = False,
    force_update: Annotated[
        Optional[str], typer.Option("--force-update", metavar="NAME", help="Update the existing executor NAME.")
    ] = None,
    secret: Annotated[
        Optional[str],
        typer.Option(
            "--secret",
            help="The executor's secret; env HUBPUSH_SECRET (read only with --force-update); cached on the publishing machine.",
        ),
    ] = None,
    tag: Annotated[
        Optional[list[str]], typer.Option("--tag", "-t", metavar="TAG", help="Tag to push; repeatable. Default: latest.")
    ] = None,
    protected_tag: Annotated[
        Optional[list[str]], typer.Option("--protected-tag", metavar="TAG", help="Push this tag and never allow pushing it again.")
    ] = None,
    dockerfile: Annotated[
        Optional[str], typer.Option("--dockerfile", "-f", help="Dockerfile inside the folder (default: ./Dockerfile, else the template).")
    ] = None,
    build_env: Annotated[
        Optional[list[str]], typer.Option("--build-env", metavar="KEY=VALUE", help="Build argument; fills ${KEY} in requirements.txt.")
    ] = None,
    platform: Annotated[Optional[str], typer.Option("--platform", help="Target platform, e.g. linux/amd64.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Build without the engine's layer cache.")] = False,
    base_image: Annotated[
        Optional[str],
        typer.Option(
            "--base-image",
            help=f"Base image for the template; env HUBPUSH_BASE_IMAGE; default {DEFAULT_BASE_IMAGE}.",
        ),
    ] = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Build the executor folder into an image and push it, with Jina Hub's push semantics."""

    def action() -> PushResult:
        settings = PushSettings.from_flags(
            path=path, public=public, private=private, force_update=force_update, secret=secret,
            tags=tag, protected_tags=protected_tag, dockerfile=dockerfile, build_env=build_env,
            platform=platform, no_cache=no_cache, base_image=base_image, registry=registry,
        )  # fmt: skip
        with CliReporter(err, verbose=verbose, quiet=as_json) as reporter:
            return push_executor(settings, reporter)

    result = _run(action, as_json=as_json, verbose=verbose)
    render_push(result, out, err, as_json=as_json)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="The executor's NAME (or its repository name).")],
    secret: Annotated[
        Optional[str], typer.Option("--secret", envvar="HUBPUSH_SECRET", help="Needed for private executors unless cached.")
    ] = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
    as_json: JsonOption = False,
    verbose: DebugOption = False,
) -> None:
    """Show what the registry holds for an executor: visibility, tags, protected tags."""
    view: ExecutorView = _run(lambda: show_executor(registry, name, secret), as_json=as_json, verbose=verbose)
    render_show(view, out, as_json=as_json)


@app.command()
def pull(
    name: Annotated[str, typer.Argument(help="The executor's NAME.")],
    tag: Annotated[str, typer.Option("--tag", "-t", help="The tag to pull.")] = "latest",
    secret: Annotated[
        Optional[str],
        typer.Option("--secret", envvar="HUBPUSH_SECRET", help="Needed for private executors unless cached; used for this pull only."),
    ] = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
    as_json: JsonOption = False,
    verbose: DebugOption = False,
) -> None:
    """Pull an executor's image into the local engine; private ones with their secret, no docker login needed."""
    result: PullResult = _run(lambda: pull_executor(registry, name, tag, secret), as_json=as_json, verbose=verbose)
    render_pull(result, out, as_json=as_json)


hub_app = typer.Typer(
    help="Run a hub: the gateway that enforces secrets, visibility and protected tags.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(hub_app, name="hub")


@hub_app.command("serve")
def hub_serve(
    upstream: Annotated[
        Optional[str],
        typer.Option("--upstream", metavar="URL", help="The registry behind the gateway, e.g. http://10.0.0.5:5000; env HUBPUSH_GATEWAY_UPSTREAM."),
    ] = None,
    listen: Annotated[str, typer.Option("--listen", metavar="HOST:PORT", help="Where the gateway listens.")] = "127.0.0.1:5000",
    public_url: Annotated[
        Optional[str], typer.Option("--public-url", metavar="URL", help="The URL clients use, when a TLS proxy sits in front.")
    ] = None,
    token_key_file: Annotated[
        Optional[Path],
        typer.Option("--token-key-file", help="Key that signs login tokens (shared by all replicas); env HUBPUSH_GATEWAY_TOKEN_KEY."),
    ] = None,
    publisher_token_file: Annotated[
        Optional[Path],
        typer.Option(
            "--publisher-token-file", help="Only holders of this token may create executors; env HUBPUSH_GATEWAY_PUBLISHER_TOKEN."
        ),
    ] = None,
    verbose: DebugOption = False,
) -> None:
    """Serve the hub gateway in the foreground, in front of a registry only it can reach."""
    from .gateway.app import serve
    from .gateway.settings import GatewaySettings

    def action() -> None:
        settings = GatewaySettings.from_flags(
            upstream=upstream, listen=listen, public_url=public_url,
            token_key_file=token_key_file, publisher_token_file=publisher_token_file,
        )  # fmt: skip
        serve(settings, on_ready=lambda line: err.print(line, markup=False, highlight=False))

    _run(action, as_json=False, verbose=verbose)


@hub_app.command("up")
def hub_up(
    port: Annotated[int, typer.Option("--port", help="Port of the gateway (the hub's address is localhost:PORT).")] = 5000,
    listen_host: Annotated[str, typer.Option("--listen-host", help="Interface the gateway listens on.")] = "127.0.0.1",
    publisher_token: Annotated[
        Optional[str],
        typer.Option("--publisher-token", envvar="HUBPUSH_GATEWAY_PUBLISHER_TOKEN", help="Only holders of it may create executors."),
    ] = None,
    as_json: JsonOption = False,
    verbose: DebugOption = False,
) -> None:
    """Start a local hub: registry:2 on a private Docker network, and the gateway in front of it."""
    from .hub_runner import hub_up as start

    status = _run(lambda: start(port=port, listen_host=listen_host, publisher_token=publisher_token), as_json=as_json, verbose=verbose)
    render_hub(status.to_dict(), out, as_json=as_json, what="Hub running at" if status.started else "Hub already running at")


@hub_app.command("down")
def hub_down(
    remove_data: Annotated[bool, typer.Option("--remove-data", help="Also delete the registry's volume (every executor).")] = False,
    verbose: DebugOption = False,
) -> None:
    """Stop the local hub started by 'hubpush hub up'; its data is kept unless --remove-data."""
    from .hub_runner import hub_down as stop

    stopped = _run(lambda: stop(remove_data=remove_data), as_json=False, verbose=verbose)
    out.print("Hub stopped." if stopped else "No hub was running.")


@hub_app.command("status")
def hub_status(as_json: JsonOption = False, verbose: DebugOption = False) -> None:
    """Say whether the local hub runs, and where."""
    from .hub_runner import hub_status as status_of

    status = _run(status_of, as_json=as_json, verbose=verbose)
    if status is None:
        if as_json:
            emit_json({"running": False})
        else:
            out.print("No hub is running; start one with: hubpush hub up")
        raise typer.Exit(1)
    render_hub(status.to_dict(), out, as_json=as_json, what="Hub running at")


@app.command()
def version() -> None:
    """Print hubpush's version."""
    out.print(__version__)


def main() -> None:
    """Console-script entry point."""
    app()
