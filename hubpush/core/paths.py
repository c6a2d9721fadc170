"""Paths from untrusted places: file names in a folder, entry names in an uploaded archive.

Pure: no I/O. :func:`printable` makes any file name safe to put in a sentence (names that are
not UTF-8 reach Python as lone surrogates, which no terminal can print); :func:`archive_member_parts`
is the rule an archive entry's name must follow before anything is written for it.
"""

from __future__ import annotations

import re
import unicodedata

from ..errors import UploadRejectedError

#: C0 and C1 control characters and DEL: never part of a name hubpush accepts or prints as it is
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: lone surrogates: how os.fsdecode carries bytes that are not UTF-8
_SURROGATE = re.compile(r"[\ud800-\udfff]")
#: ``C:`` at the start of a name: a Windows drive, absolute on the machine that made the archive
_DRIVE = re.compile(r"^[A-Za-z]:")
#: most file systems refuse longer components; refused up front with a sentence instead of an OSError
MAX_COMPONENT_BYTES = 255
MAX_NAME_LENGTH = 1024


def printable(text: object) -> str:
    """``text`` (a path or name) fit for a message: bytes that are not UTF-8 and control
    characters shown as ``\\xNN`` escapes, everything else as it is."""
    value = str(text)
    value = _SURROGATE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}" if ord(m.group()) >= 0xDC80 else "?", value)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def archive_member_parts(name: str, max_depth: int) -> tuple[str, ...]:
    """The components of archive entry ``name`` (``a/b/c.py`` -> ``("a", "b", "c.py")``), or the refusal.

    A trailing ``/`` (a folder entry) and ``.`` components are dropped; anything that could
    land outside the destination or mean different things on different systems is refused:
    absolute paths, drive letters, backslashes, ``..``, control characters, empty names.
    """
    shown = printable(name)[:200]
    if _CONTROL.search(name) or _SURROGATE.search(name):
        raise UploadRejectedError(f"The archive has an entry named '{shown}' with control characters; rename it.")
    if len(name) > MAX_NAME_LENGTH:
        raise UploadRejectedError(f"The archive has an entry name of {len(name)} characters; at most {MAX_NAME_LENGTH} are accepted.")
    if "\\" in name:
        raise UploadRejectedError(
            f"The archive entry '{shown}' contains a backslash; zip entries separate folders with '/': re-create the archive."
        )
    if name.startswith("/") or _DRIVE.match(name):
        raise UploadRejectedError(f"The archive entry '{shown}' is an absolute path; entries must be relative to the executor folder.")
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    if ".." in parts:
        raise UploadRejectedError(f"The archive entry '{shown}' climbs out of the folder with '..'; remove it from the archive.")
    if not parts:
        raise UploadRejectedError(f"The archive has an entry with an empty name ('{shown}'); re-create the archive.")
    if len(parts) > max_depth:
        raise UploadRejectedError(f"The archive entry '{shown}' is {len(parts)} folders deep; at most {max_depth} are accepted.")
    if any(len(part.encode("utf-8")) > MAX_COMPONENT_BYTES for part in parts):
        raise UploadRejectedError(
            f"The archive entry '{shown[:80]}...' has a component longer than {MAX_COMPONENT_BYTES} bytes; shorten it."
        )
    return parts


def folded(parts: tuple[str, ...]) -> str:
    """The key under which two entry names count as the same file: on a case-insensitive or
    normalising file system (macOS, Windows) ``Config.yml`` and ``config.yml`` are one file."""
    return unicodedata.normalize("NFC", "/".join(parts)).casefold()
