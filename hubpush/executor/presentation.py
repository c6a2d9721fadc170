"""What a folder says about its executor for people browsing the hub: README.md and keywords.

Both are recorded at push time, in the registry next to the metadata, so the hub's portal
never needs the build context.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from ..errors import HubpushError, InvalidExecutorConfigError
from ..hubapi import MAX_KEYWORD_LENGTH, MAX_KEYWORDS, MAX_README_BYTES
from .files import read_head

README_FILE = "README.md"


def read_readme(folder: Path) -> tuple[str, bool]:
    """The folder's README.md as text (at most MAX_README_BYTES) and whether it was cut.

    A README that is not a regular file inside the folder (a FIFO, a device, a link out of
    the folder) is left out rather than read: it could block or leak.
    """
    path = folder / README_FILE
    try:
        status = os.stat(path)
    except OSError:
        return "", False
    if not stat.S_ISREG(status.st_mode) or not path.resolve().is_relative_to(folder):
        return "", False
    try:
        data = read_head(path, MAX_README_BYTES)
    except (OSError, HubpushError):  # replaced by a FIFO since: left out, as above
        return "", False
    truncated = len(data) > MAX_README_BYTES
    # cut on a character boundary: a partial UTF-8 sequence at the end is dropped, not replaced
    text = data[:MAX_README_BYTES].decode("utf-8", "ignore" if truncated else "replace")
    return text, truncated


def read_keywords(metas: dict[str, Any], manifest: dict[str, Any], where: Path) -> list[str]:
    """``metas.keywords`` from config.yml, else ``keywords`` from the legacy manifest.yml."""
    value = metas.get("keywords") or manifest.get("keywords") or []
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",")]
    if not isinstance(value, list) or not all(isinstance(item, (str, int, float)) and not isinstance(item, bool) for item in value):
        raise InvalidExecutorConfigError(f"'keywords' in {where} must be a list of words, e.g. keywords: [nlp, encoder].")
    keywords = list(dict.fromkeys(str(item).strip() for item in value if str(item).strip()))
    if len(keywords) > MAX_KEYWORDS or any(len(word) > MAX_KEYWORD_LENGTH for word in keywords):
        raise InvalidExecutorConfigError(
            f"'keywords' in {where} names more than {MAX_KEYWORDS} keywords or one over {MAX_KEYWORD_LENGTH} characters; "
            "keep the list short."
        )
    return keywords
