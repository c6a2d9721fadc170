"""The local secret cache (our twine ``auth.py``): secrets of executors published here.

One JSON file, ``$HUBPUSH_CONFIG_DIR/secrets.json`` (default
``~/.config/hubpush/secrets.json``), keyed by ``registry/repository`` so the same
NAME on two registries never mixes, and independent of the folder pushed from.
File mode 0600 in a 0700 folder: readable by its owner only.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def default_config_dir() -> Path:
    if os.environ.get("HUBPUSH_CONFIG_DIR"):
        return Path(os.environ["HUBPUSH_CONFIG_DIR"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hubpush"


class SecretStore:
    def __init__(self, config_dir: Path | None = None) -> None:
        self.path = (config_dir or default_config_dir()) / "secrets.json"

    @staticmethod
    def key(registry: str, repository: str) -> str:
        return f"{registry}/{repository}"

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}

    def get(self, registry: str, repository: str) -> str | None:
        return self._load().get(self.key(registry, repository))

    def put(self, registry: str, repository: str, secret: str) -> None:
        """Remember ``secret``; written atomically, never readable by other users."""
        data = self._load()
        data[self.key(registry, repository)] = secret
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".secrets-")  # mkstemp creates 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, sort_keys=True)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
