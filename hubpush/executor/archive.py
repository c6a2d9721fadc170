"""Provisional extractor (replaced by the input-safety branch's hardened one on merge)."""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

from ..errors import UploadRejectedError


def extract_archive(source: Path, destination: Path) -> None:
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        raise UploadRejectedError("The upload is not a zip archive.") from None
    with archive:
        for info in archive.infolist():
            path = PurePosixPath(info.filename)
            if path.is_absolute() or ".." in path.parts:
                raise UploadRejectedError(f"The upload's entry {info.filename!r} points outside the folder.")
            if info.is_dir():
                continue
            target = destination / path
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(target, "xb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
