"""The ``hubpush`` command line. Thin: each command module parses its flags, calls one
service function and renders the result (:mod:`.render`); :mod:`.app` holds what they share.

The modules are imported in the order ``hubpush --help`` lists the commands.
"""

from . import push, listing, show, pull, token, hub, version  # noqa: F401  (each registers its command)  # isort: skip
from .app import app, main

__all__ = ["app", "main"]
