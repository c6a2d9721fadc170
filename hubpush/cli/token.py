"""``hubpush token NAME[:SECRET]...``: one docker credential for several private executors of a hub."""

from __future__ import annotations

from typing import Annotated

import typer

from ..config import DEFAULT_REGISTRY
from .app import DebugOption, JsonOption, RegistryOption, app, out, run
from .render import render_token


@app.command()
def token(
    executors: Annotated[
        list[str], typer.Argument(help="Executors the token pulls: NAME (secret from this machine's cache) or NAME:SECRET.")
    ],
    hours: Annotated[int, typer.Option("--hours", min=1, max=720, help="How long the token is valid.")] = 24,
    registry: RegistryOption = DEFAULT_REGISTRY,
    as_json: JsonOption = False,
    verbose: DebugOption = False,
) -> None:
    """Make an access token that pulls several private executors, for one docker login (e.g. a Flow's)."""
    from ..access import AccessToken, create_access_token  # the registry client: only when the command runs

    made: AccessToken = run(lambda: create_access_token(registry, executors, hours), as_json=as_json, verbose=verbose)
    render_token(made, out, as_json=as_json)

