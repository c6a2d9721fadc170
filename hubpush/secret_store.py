"""The local secret cache (our twine ``auth.py``): secrets of executors published here.

One JSON file, ``$HUBPUSH_CONFIG_DIR/secrets.json`` (default
``~/.config/hubpush/secrets.json``), keyed by ``registry/repository`` so the same
NAME on two registries never mixes, and independent of the folder pushed from.
File mode 0600 in a 0700 folder: readable by its owner only.
"""

from __future__ import annotations

import json
from pathlib import Path

from .config import default_config_dir
from .errors import SecretCacheError
from .localfiles import write_private


class SecretStore:
    """The secrets of executors published (or updated with ``--secret``) from this machine."""

    def __init__(self, config_dir: Path | None = None) -> None:
        self.path = (config_dir or default_config_dir()) / "secrets.json"

    @staticmethod
    def key(registry: str, repository: str) -> str:
        """Secrets are kept per registry location and repository, never per folder."""
        return f"{registry}/{repository}"

    def _load(self) -> dict[str, str]:
        """The cache's contents; a damaged cache is refused, never silently replaced,
        because it may hold the only copy of other executors' secrets."""
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise SecretCacheError(
                f"The secret cache {self.path} cannot be read ({exc.__class__.__name__}); repair or move it "
                "(it may hold other executors' secrets), or point HUBPUSH_CONFIG_DIR elsewhere."
            ) from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise SecretCacheError(
                f"The secret cache {self.path} is not a JSON object of secrets; repair or move it, "
                "or point HUBPUSH_CONFIG_DIR elsewhere."
            )
        return data

    def get(self, registry: str, repository: str) -> str | None:
        """The cached secret of ``repository`` at ``registry``, if this machine has one."""
        return self._load().get(self.key(registry, repository))

    def forget(self, registry: str, repository: str) -> None:
        """Drop a secret whose executor was never published after all."""
        data = self._load()
        if data.pop(self.key(registry, repository), None) is not None:
            self._save(data)

    def put(self, registry: str, repository: str, secret: str) -> None:
        """Remember ``secret``; written atomically, never readable by other users."""
        data = self._load()
        data[self.key(registry, repository)] = secret
        self._save(data)

    def _save(self, data: dict[str, str]) -> None:
        folder = self.path.parent

        def unwritable(exc: OSError) -> SecretCacheError:
            return SecretCacheError(
                f"The secret cache folder {folder} cannot be written ({exc.strerror or exc}); "
                "point HUBPUSH_CONFIG_DIR at a folder you own."
            )

        try:
            if not folder.exists():
                # created private; an existing folder's permissions are its owner's business
                folder.mkdir(mode=0o700, parents=True)
        except OSError as exc:
            raise unwritable(exc) from None
        write_private(self.path, json.dumps(data, indent=2, sort_keys=True), unwritable=unwritable)
