"""``hubpush list``: the executors a hub or a registry holds, as a table or JSON."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..config import DEFAULT_REGISTRY
from .app import DebugOption, JsonOption, RegistryOption, app, err, out, run
from .render import render_list


@app.command(name="list")
def list_(
    recent: Annotated[bool, typer.Option("--recent", help="Newest push first (the portal's Recent tab). Default: by name.")] = False,
    search: Annotated[
        Optional[str], typer.Option("--search", metavar="WORDS", help="Only executors whose name, description or keywords hold every word.")
    ] = None,
    page: Annotated[int, typer.Option("--page", min=1, help="Page of 50 executors.")] = 1,
    registry: RegistryOption = DEFAULT_REGISTRY,
    as_json: JsonOption = False,
    verbose: DebugOption = False,
) -> None:
    """List the executors anyone may pull: through a hub its listing, on a bare registry its catalog."""
    from ..listing import ExecutorList, list_executors  # the registry client: only when the command runs

    sort = "recent" if recent else "name"
    listing: ExecutorList = run(
        lambda: list_executors(registry, sort=sort, query=search or "", page=page), as_json=as_json, verbose=verbose
    )
    render_list(listing, out, err, as_json=as_json)
