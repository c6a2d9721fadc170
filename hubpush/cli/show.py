"""``hubpush show NAME``: what the registry holds for one executor."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..config import DEFAULT_REGISTRY, SECRET_ENV
from .app import DebugOption, JsonOption, RegistryOption, app, out, run
from .render import render_show


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="The executor's NAME (or its repository name).")],
    secret: Annotated[
        Optional[str], typer.Option("--secret", envvar=SECRET_ENV, help="Needed for private executors unless cached.")
    ] = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
    as_json: JsonOption = False,
    verbose: DebugOption = False,
) -> None:
    """Show what the registry holds for an executor: visibility, tags, protected tags."""
    from ..show import ExecutorView, show_executor  # the registry client: only when the command runs

    view: ExecutorView = run(lambda: show_executor(registry, name, secret), as_json=as_json, verbose=verbose)
    render_show(view, out, as_json=as_json)
