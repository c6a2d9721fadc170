"""Zips built byte by byte for the extractor's tests: names zipfile would clean up, and bombs."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

CONFIG = b"jtype: A\nmetas: {name: Zipped}\n"


def good_zip(files: dict[str, bytes | str] | None = None, *, prefix: str = "") -> bytes:
    """A zip as Jina's client makes it (deflate, config.yml at the root or under ``prefix``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in {"config.yml": CONFIG, "executor.py": b"print('hi')\n", **(files or {})}.items():
            archive.writestr(prefix + name, data)
    return buffer.getvalue()


def raw_zip(entries: list[dict]) -> bytes:
    """A zip written field by field. Each entry: ``name`` (bytes), ``data`` (as stored), and
    optionally ``method``, ``crc``, ``size`` (uncompressed), ``flags``, ``attr`` (external attributes)."""
    body, directory = io.BytesIO(), io.BytesIO()
    for entry in entries:
        name, data = entry["name"], entry["data"]
        method, flags, attr = entry.get("method", 0), entry.get("flags", 0), entry.get("attr", 0o100644 << 16)
        crc, size = entry.get("crc", zlib.crc32(data)), entry.get("size", len(data))
        offset = body.tell()
        body.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 0x21, crc, len(data), size, len(name), 0))
        body.write(name + data)
        directory.write(
            struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 0x031E, 20, flags, method, 0, 0x21, crc, len(data), size, len(name), 0, 0, 0, 0, attr, offset)
        )
        directory.write(name)
    cd = directory.getvalue()
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(cd), body.tell(), 0)
    return body.getvalue() + cd + end


def zero_bomb(gib: int = 2) -> bytes:
    """One entry of ``gib`` GiB of zeros in about a megabyte per GiB: the same fully flushed deflate
    block of 1 MiB of zeros, repeated (a flush point resets the window, so the copies chain), then
    an empty final block. Built without ever holding or compressing the gigabytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    mebibyte = b"\0" * (1 << 20)
    block = compressor.compress(mebibyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    count = gib << 10
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(mebibyte, crc)
    stream = block * count + b"\x03\x00"  # BFINAL fixed-Huffman block with only end-of-block
    size = count << 20
    return raw_zip(
        [
            {"name": b"config.yml", "data": CONFIG},
            {"name": b"model.bin", "data": stream, "method": 8, "crc": crc, "size": size & 0xFFFFFFFF},
        ]
    )
