"""The typer application and what every command shares: options, consoles, and :func:`run`.

Errors become output in exactly one place, :func:`run`: a user-facing
:class:`~hubpush.errors.HubpushError` prints its sentence and exits with its code;
nothing else prints a traceback unless ``--verbose`` asks for it.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from ..config import REGISTRY_ENV
from ..errors import HubpushError
from .render import emit_json

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
    typer.Option("--registry", envvar=REGISTRY_ENV, help="Registry [http(s)://]HOST:PORT[/NAMESPACE].", show_default=True),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON object on stdout, nothing else.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show the full build and push log.")]
DebugOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show a traceback if hubpush itself fails.")]


def run(action: Callable[[], T], *, as_json: bool, verbose: bool) -> T:
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


def main() -> None:
    """Console-script entry point.

    Ends the process as soon as the command is done: once the output is flushed and the exit
    handlers have run, tearing down the interpreter (hundreds of modules, docker-py's and
    requests' objects) only makes the shell wait, about 0.1-0.2 s after the last line.
    """
    try:
        app()
        code: int | str | None = 0
    except SystemExit as exc:
        code = exc.code
    if isinstance(code, str) or threading.active_count() > 1:  # a message to print, or threads to wait for
        sys.exit(code)
    _fast_exit(code or 0)


def _fast_exit(code: int) -> None:
    """Flush, run what ``atexit`` holds (logging, weakref finalizers), then leave without finalization."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe (`| head`): the normal exit handles and reports it
        sys.exit(code)
    atexit._run_exitfuncs()
    os._exit(code)
