"""``hubpush pull NAME``: pull an executor's image into the local engine."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..config import DEFAULT_REGISTRY, SECRET_ENV
from .app import DebugOption, JsonOption, RegistryOption, app, out, run
from .render import render_pull


@app.command()
def pull(
    name: Annotated[str, typer.Argument(help="The executor's NAME.")],
    tag: Annotated[str, typer.Option("--tag", "-t", help="The tag to pull.")] = "latest",
    secret: Annotated[
        Optional[str],
        typer.Option("--secret", envvar=SECRET_ENV, help="Needed for private executors unless cached; used for this pull only."),
    ] = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
    as_json: JsonOption = False,
    verbose: DebugOption = False,
) -> None:
    """Pull an executor's image into the local engine; private ones with their secret, no docker login needed."""
    from ..pull import PullResult, pull_executor  # the registry client and the engine: only when the command runs

    result: PullResult = run(lambda: pull_executor(registry, name, tag, secret), as_json=as_json, verbose=verbose)
    render_pull(result, out, as_json=as_json)
