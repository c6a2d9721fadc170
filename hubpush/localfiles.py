"""Files hubpush keeps on this machine (the secret cache, the hub's state): written atomically,
readable by their owner only."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_private(path: Path, text: str, *, unwritable: Callable[[OSError], Exception] | None = None) -> None:
    """Replace ``path`` atomically with a 0600 file holding ``text``.

    A reader never sees half a file: the text goes to a temporary file beside ``path`` that
    then replaces it. ``unwritable`` turns a folder that cannot take the temporary file into
    the caller's own error; failures after that propagate as they are.
    """
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-")  # mkstemp creates 0600
    except OSError as exc:
        if unwritable is None:
            raise
        raise unwritable(exc) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)  # whatever the umask: mkstemp's mode already is, this says so
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
