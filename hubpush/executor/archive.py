"""Unpacking an uploaded executor zip (``jina hub push`` sends the folder as one) without trusting it.

:func:`extract_archive` checks the whole central directory before it writes anything, then
inflates each entry in chunks while counting the bytes that actually come out, so a
decompression bomb stops after about a megabyte of output, whatever the archive declares.
What it refuses, each with one sentence (:class:`~hubpush.errors.UploadRejectedError`): see
:class:`ArchiveLimits` and :func:`hubpush.core.paths.archive_member_parts`, plus links,
devices and other non-regular entries, encrypted entries, compression methods other than
stored and deflate, names that are not UTF-8, duplicate names (by case and Unicode
normalisation too), a file that is also a folder, bytes before or after the zip, and an
archive without ``config.yml`` at its root or in its single top-level folder.

The result is a fresh folder of plain files (0644, or 0755 for entries marked executable;
never setuid) and folders (0755), ready for :func:`hubpush.executor.folder.load_executor_folder`.
"""

from __future__ import annotations

import os
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from ..core.paths import archive_member_parts, folded, printable
from ..errors import UploadRejectedError
from .folder import CONFIG_FILE

_LOCAL_HEADER = b"PK\x03\x04"
_END_RECORD = b"PK\x05\x06"
_END_RECORD_SIZE = 22
_CENTRAL_HEADER = struct.Struct("<4s6H3L5H2L")  # 46 bytes: signature ... local header offset
_CHUNK = 64 << 10


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on one upload. The defaults fit any executor folder that keeps its models elsewhere."""

    max_archive_bytes: int = 100 << 20
    max_entries: int = 10_000
    #: the sum of what is inflated, counted as it comes out (declared sizes are not trusted)
    max_total_bytes: int = 500 << 20
    #: inflated bytes per compressed byte read, for an entry that has inflated more than ``ratio_after_bytes``
    max_ratio: int = 200
    ratio_after_bytes: int = 1 << 20
    max_depth: int = 32


DEFAULT_ARCHIVE_LIMITS = ArchiveLimits()


@dataclass(frozen=True)
class _Member:
    info: zipfile.ZipInfo
    name: str
    parts: tuple[str, ...]
    is_dir: bool
    mode: int


class _CountingReader:
    """The archive file as zipfile reads it, counting the compressed bytes read (and, for
    :func:`_inflate`, the bytes inflated from them so far, all entries together)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.count, self.inflated = raw, 0, 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.count += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def seekable(self) -> bool:
        return True


def extract_archive(source: Path | BinaryIO, destination: Path, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS) -> Path:
    """Unpack the zip ``source`` (a path, or a binary file: an upload's body) into ``destination``,
    which must not exist yet and is created; returns the executor folder inside it (``destination``
    itself, or its single top-level folder when ``config.yml`` is there).

    Raises :class:`UploadRejectedError` for anything the module docstring lists; ``destination``
    is then removed again, so a refused upload leaves nothing behind.
    """
    with _spooled(source, limits) as (raw, size):
        reader = _CountingReader(raw)
        archive = _open_zip(reader, size, limits)
        members = _checked_members(archive, limits)
        root = _executor_root(members)
        destination.mkdir(mode=0o755)
        try:
            os.chmod(destination, 0o755)
            for member in members:
                _extract(archive, reader, member, destination, limits)
        except BaseException:
            shutil.rmtree(destination, ignore_errors=True)
            raise
    return destination.joinpath(*root)


@contextmanager
def _spooled(source: Path | BinaryIO, limits: ArchiveLimits) -> Iterator[tuple[IO[bytes], int]]:
    """``source`` as a seekable file read from its first byte, and its size, refused above the limit."""
    too_large = UploadRejectedError(
        f"The archive is larger than {limits.max_archive_bytes >> 20} MiB; keep models and data out of the "
        "executor folder and download them when the executor starts."
    )
    if isinstance(source, Path):
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))  # never blocks on a FIFO
        with os.fdopen(fd, "rb") as handle:
            status = os.fstat(fd)
            if not stat.S_ISREG(status.st_mode):
                raise UploadRejectedError(f"The archive {printable(source)} is not a regular file; upload the zip itself.")
            if status.st_size > limits.max_archive_bytes:
                raise too_large
            yield handle, status.st_size
        return
    with tempfile.TemporaryFile() as spool:  # an upload's body is read once, at most the limit and a byte
        copied = 0
        while copied <= limits.max_archive_bytes and (chunk := source.read(min(_CHUNK, limits.max_archive_bytes + 1 - copied))):
            spool.write(chunk)
            copied += len(chunk)
        if copied > limits.max_archive_bytes:
            raise too_large
        spool.seek(0)
        yield spool, copied


def _end_record(raw: IO[bytes], size: int) -> tuple[int, int, int]:
    """(entries, central directory size, its offset) from the end record that ends the file exactly."""
    tail_size = min(size, _END_RECORD_SIZE + 0xFFFF)
    raw.seek(size - tail_size)
    tail = raw.read(tail_size)
    at = tail.rfind(_END_RECORD)
    while at >= 0:
        if at + _END_RECORD_SIZE <= len(tail):
            entries, cd_size, cd_offset, comment = struct.unpack("<10xHLLH", tail[at : at + _END_RECORD_SIZE])
            if at + _END_RECORD_SIZE + comment == len(tail):
                return entries, cd_size, cd_offset
        at = tail.rfind(_END_RECORD, 0, at)
    raise UploadRejectedError("The upload is not a zip archive, or has bytes after its end; upload the zip file as it was made.")


def _count_entries(raw: IO[bytes], cd_offset: int, cd_size: int, limits: ArchiveLimits) -> None:
    """Walk the central directory without keeping it: a lying end record cannot make zipfile
    build millions of entries."""
    raw.seek(cd_offset)
    seen = walked = 0
    while walked < cd_size:
        header = raw.read(_CENTRAL_HEADER.size)
        if len(header) < _CENTRAL_HEADER.size or header[:4] != b"PK\x01\x02":
            raise UploadRejectedError("The archive's central directory is damaged; make the zip again.")
        fields = _CENTRAL_HEADER.unpack(header)
        variable = fields[10] + fields[11] + fields[12]  # name, extra field, comment lengths
        raw.seek(variable, os.SEEK_CUR)
        walked += _CENTRAL_HEADER.size + variable
        seen += 1
        if seen > limits.max_entries:
            raise _too_many(limits)


def _too_many(limits: ArchiveLimits) -> UploadRejectedError:
    return UploadRejectedError(
        f"The archive has more than {limits.max_entries} entries; an executor folder needs far fewer (leave out "
        "virtual environments and caches)."
    )


def _open_zip(reader: _CountingReader, size: int, limits: ArchiveLimits) -> zipfile.ZipFile:
    raw = reader.raw
    raw.seek(0)
    start = raw.read(4)
    if start == _END_RECORD:
        raise UploadRejectedError("The archive is empty; zip the executor folder with its config.yml.")
    if start != _LOCAL_HEADER:
        raise UploadRejectedError("The upload is not a zip archive, or has bytes before it; upload the zip file as it was made.")
    entries, cd_size, cd_offset = _end_record(raw, size)
    if entries > limits.max_entries:  # 0xFFFF (a zip64 archive) included: far more than any limit
        raise _too_many(limits)
    if cd_offset + cd_size > size:
        raise UploadRejectedError("The archive's central directory is damaged; make the zip again.")
    _count_entries(raw, cd_offset, cd_size, limits)
    raw.seek(0)
    try:
        archive = zipfile.ZipFile(reader)  # type: ignore[arg-type]  # read, seek and tell are all it uses
    except UnicodeDecodeError:
        raise UploadRejectedError("The archive has an entry name marked UTF-8 that is not valid UTF-8; rename it.") from None
    except (zipfile.BadZipFile, ValueError, struct.error, EOFError, NotImplementedError) as exc:
        raise UploadRejectedError(f"The archive is not a valid zip archive ({printable(exc)}); make the zip again.") from None
    if archive.start_dir != cd_offset or len(archive.infolist()) > limits.max_entries:
        raise UploadRejectedError("The archive has more than one end record that could be its own; make the zip again.")
    return archive


def _utf8_name(info: zipfile.ZipInfo) -> str:
    """The entry's name as UTF-8: zipfile decodes unflagged names as cp437, which turns any bytes into
    some text; their bytes must be UTF-8 all the same (most zip tools write UTF-8 without the flag)."""
    if info.flag_bits & 0x800:
        return info.orig_filename
    try:
        return info.orig_filename.encode("cp437").decode("utf-8")
    except UnicodeError:
        shown = info.orig_filename.encode("cp437").decode("utf-8", "backslashreplace")
        raise UploadRejectedError(f"The archive entry '{printable(shown)}' has a name that is not UTF-8; rename it.") from None


def _member(info: zipfile.ZipInfo, limits: ArchiveLimits) -> _Member:
    name = _utf8_name(info)
    parts = archive_member_parts(name, limits.max_depth)
    shown = printable("/".join(parts))
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        raise UploadRejectedError(f"The archive entry '{shown}' is a symbolic link; uploads take files only: put the file itself in the zip.")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: made on Windows/DOS, which records no Unix type
        raise UploadRejectedError(f"The archive entry '{shown}' is not a file or folder (a device or FIFO); leave it out.")
    if info.flag_bits & 0x1:
        raise UploadRejectedError(f"The archive entry '{shown}' is encrypted; upload the zip without a password.")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise UploadRejectedError(
            f"The archive entry '{shown}' uses compression method {info.compress_type}; make the zip with deflate (the default)."
        )
    is_dir = name.endswith("/") or kind == stat.S_IFDIR
    executable = bool((info.external_attr >> 16) & 0o111)
    return _Member(info, name, parts, is_dir, 0o755 if executable or is_dir else 0o644)


def _checked_members(archive: zipfile.ZipFile, limits: ArchiveLimits) -> list[_Member]:
    """Every entry, checked before anything is written, folders first."""
    members: list[_Member] = []
    keys: dict[str, _Member] = {}
    folders: set[str] = set()
    declared = 0
    for info in archive.infolist():
        member = _member(info, limits)
        key = folded(member.parts)
        if key in keys:
            raise UploadRejectedError(
                f"The archive holds '{printable(member.name)}' twice (names that differ only in case count as one); "
                "keep one of them."
            )
        keys[key] = member
        folders.update(folded(member.parts[:depth]) for depth in range(1, len(member.parts)))
        if member.is_dir:
            folders.add(key)
        else:
            declared += info.file_size
        members.append(member)
    for key in folders:
        if key in keys and not keys[key].is_dir:
            raise UploadRejectedError(f"The archive entry '{printable(keys[key].name)}' is both a file and a folder; rename one.")
    if declared > limits.max_total_bytes:
        raise _too_much(limits)
    return sorted(members, key=lambda m: (not m.is_dir, len(m.parts)))


def _too_much(limits: ArchiveLimits) -> UploadRejectedError:
    return UploadRejectedError(
        f"The archive unpacks to more than {limits.max_total_bytes >> 20} MiB; keep models and data out of the executor "
        "folder and download them when the executor starts."
    )


def _executor_root(members: list[_Member]) -> tuple[str, ...]:
    """``()`` when config.yml is at the root, ``(TOP,)`` when the archive is one folder TOP holding it."""
    files = {m.parts for m in members if not m.is_dir}
    if (CONFIG_FILE,) in files:
        return ()
    tops = {m.parts[0] for m in members}
    if len(tops) == 1 and (top := next(iter(tops)), CONFIG_FILE) in files:
        return (top,)
    raise UploadRejectedError(
        f"The archive has no {CONFIG_FILE} at its root (nor in a single top-level folder); zip the executor folder itself."
    )


def _extract(archive: zipfile.ZipFile, reader: _CountingReader, member: _Member, destination: Path, limits: ArchiveLimits) -> None:
    target = destination.joinpath(*member.parts)
    if member.is_dir:
        # the tree is ours and fresh: no entry can be a link, so makedirs follows none
        os.makedirs(target, mode=0o755, exist_ok=True)
        return
    os.makedirs(target.parent, mode=0o755, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(target, flags, member.mode)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(fd, member.mode)  # whatever the umask; never setuid or setgid
        try:
            _inflate(archive, reader, member, out, limits)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            raise UploadRejectedError(
                f"The archive entry '{printable(member.name)}' cannot be unpacked ({printable(exc)}); make the zip again."
            ) from None


def _inflate(archive: zipfile.ZipFile, reader: _CountingReader, member: _Member, out: IO[bytes], limits: ArchiveLimits) -> None:
    """Copy one entry in chunks, stopping as soon as the total or the entry's ratio passes its bound."""
    started = reader.count
    written = 0
    with archive.open(member.info) as source:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            reader.inflated += len(chunk)
            if reader.inflated > limits.max_total_bytes:
                raise _too_much(limits)
            consumed = max(reader.count - started, 1)
            if written > limits.ratio_after_bytes and written > limits.max_ratio * consumed:
                raise UploadRejectedError(
                    f"The archive entry '{printable(member.name)}' inflates more than {limits.max_ratio} times its compressed "
                    "size (a decompression bomb?); such files do not belong in an executor upload."
                )
            out.write(chunk)
