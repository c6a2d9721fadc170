"""Reading files of an executor folder that someone else may have made.

Opening a FIFO for reading blocks until a writer comes (forever, for a push); opening a
device can have side effects; a file that is a link out of the folder would be read here
but reach the engine as a dangling link. So every file hubpush itself reads goes through
:func:`folder_file` (``lstat`` first, nothing opened) and :func:`read_head` (opened
non-blocking, checked again on the open descriptor, read with a bound, never whole).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..core.paths import printable
from ..errors import BuildContextError

_SPECIAL_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def special_kind(mode: int) -> str | None:
    """What a FIFO, socket or device is called in a sentence; None for files, folders and links."""
    return _SPECIAL_KINDS.get(stat.S_IFMT(mode))


def special_file_error(rel: str, folder: Path, kind: str, advice: str) -> BuildContextError:
    """The refusal of a special file at ``rel`` in ``folder``."""
    return BuildContextError(f"{printable(rel)} in {printable(folder)} is {kind}, which hubpush never reads; {advice}.")


def folder_file(folder: Path, rel: str, *, links_out: bool = False) -> Path | None:
    """``folder/rel`` if it is a regular file (or a link to one inside the folder), None if there
    is none (or it is a folder), else the refusal. Only ``lstat``/``stat``: nothing is opened.

    A link out of the folder is refused, or with ``links_out`` taken as no file (for a README
    that only the portal reads). ``folder`` must be resolved already.
    """
    path = folder / rel
    try:
        status = os.lstat(path)
        if stat.S_ISLNK(status.st_mode):
            if not path.resolve().is_relative_to(folder):
                if links_out:
                    return None
                raise BuildContextError(
                    f"{printable(rel)} in {printable(folder)} is a link to a place outside the folder; the build context "
                    "would carry only the link: copy the file into the folder."
                )
            status = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None  # absent, or a dangling link: as if there were none
    except OSError as exc:
        raise BuildContextError(f"{printable(rel)} in {printable(folder)} cannot be read ({exc.strerror or exc}); fix its permissions.") from None
    kind = special_kind(status.st_mode)
    if kind is not None:
        raise special_file_error(rel, folder, kind, "replace it with a regular file")
    return path if stat.S_ISREG(status.st_mode) else None


def read_head(path: Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the regular file ``path``: one more than the limit says
    the file is too large without reading the rest.

    Opened with ``O_NONBLOCK`` and checked on the descriptor, so a file replaced by a FIFO
    after :func:`folder_file` looked at it is refused instead of blocking.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        kind = special_kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise special_file_error(path.name, path.parent, kind, "replace it with a regular file")
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
