"""``hubpush version``."""

from __future__ import annotations

from .. import __version__
from .app import app, out


@app.command()
def version() -> None:
    """Print hubpush's version."""
    out.print(__version__)
