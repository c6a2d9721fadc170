"""The executor folder: what gets published (twine's ``package.py`` for us).

Reads ``config.yml`` (``jtype``, ``py_modules``, ``metas``), the legacy
``manifest.yml``, ``requirements.txt`` and finds the Dockerfile. Everything is
validated here, before the registry or the Docker engine is touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.paths import printable
from ..errors import (
    DockerfileError,
    ExecutorFolderNotFoundError,
    ExecutorNameMissingError,
    InvalidBuildEnvError,
    InvalidExecutorConfigError,
    InvalidExecutorNameError,
    MissingBuildEnvError,
)
from ..core.names import validate_name
from ..hubapi import MAX_DESCRIPTION_LENGTH
from .files import folder_file, read_head
from .presentation import README_FILE, read_keywords, read_readme
from .safe_yaml import DEFAULT_YAML_LIMITS, parse_yaml

CONFIG_FILE = "config.yml"
MANIFEST_FILE = "manifest.yml"
REQUIREMENTS_FILE = "requirements.txt"
DEFAULT_DOCKERFILE = "Dockerfile"
#: the files hubpush itself opens: each is checked (no FIFO, device, socket or link out of the
#: folder) before anything is read, so such a folder is refused before any network
READ_BY_HUBPUSH = (CONFIG_FILE, MANIFEST_FILE, REQUIREMENTS_FILE, DEFAULT_DOCKERFILE, README_FILE, ".dockerignore", ".gitignore")
#: requirements.txt, .dockerignore and .gitignore are read whole: a bound keeps that cheap
MAX_LIST_FILE_BYTES = 1 << 20
#: executor NAMEs are at most 64 characters (core.names); longer ones are refused without echoing them
MAX_NAME_LENGTH = 64

#: ``${VAR}`` as pip expands it in requirements files (upper case, digits, ``_``).
_REQUIREMENT_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BUILD_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ExecutorFolder:
    """A validated executor folder, ready to be built."""

    path: Path
    name: str
    jtype: str
    description: str
    version: str
    source: str
    #: the folder's own Dockerfile (absolute), or None: render Dockerfile.template
    dockerfile: Path | None
    has_requirements: bool
    requirement_vars: list[str] = field(default_factory=list)
    #: for the hub's portal: manifest.yml's keywords, README.md (cut to the hub's limit, and whether it was)
    keywords: list[str] = field(default_factory=list)
    readme: str = ""
    readme_truncated: bool = False

    @property
    def dockerfile_in_context(self) -> str | None:
        """The Dockerfile's path relative to the folder, as the build context sees it."""
        return self.dockerfile.relative_to(self.path).as_posix() if self.dockerfile else None


def _read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping from a file that :func:`folder_file` accepted, with :mod:`.safe_yaml`'s limits."""
    limit = DEFAULT_YAML_LIMITS.max_bytes
    try:
        data = read_head(path, limit)
    except OSError as exc:
        raise InvalidExecutorConfigError(f"{printable(path)} cannot be read ({exc.strerror or exc}); check the file.") from None
    if len(data) > limit:
        raise InvalidExecutorConfigError(
            f"{printable(path)} is larger than {limit >> 10} KiB, the most hubpush reads of it; keep models and data "
            "in other files of the folder."
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidExecutorConfigError(f"{printable(path)} is not UTF-8 text (byte {exc.start}); save it as UTF-8.") from None
    parsed = parse_yaml(text, printable(path))
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise InvalidExecutorConfigError(f"{printable(path)} must be a YAML mapping (key: value), not a {type(parsed).__name__}.")
    return parsed


def _text(value: Any, key: str, where: Path, *, names_a_thing: bool = False) -> str:
    """A YAML scalar as text. ``names_a_thing`` (names, classes) demands a string: YAML reads
    ``name: true`` or ``name: 1e3`` as other types, and hubpush will not guess what was meant."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if not names_a_thing and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    shown = printable(repr(value))
    shown = shown if len(shown) <= 60 else shown[:60] + "..."  # a list of 20,000 nodes is no sentence
    raise InvalidExecutorConfigError(
        f"'{key}' in {printable(where)} must be a plain text value, not {type(value).__name__} {shown}; quote it."
    )


def load_executor_folder(path: Path, dockerfile: str | None = None) -> ExecutorFolder:
    """Validate ``path`` as an executor folder and read what the build needs."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise ExecutorFolderNotFoundError(f"Executor folder {str(path)!r} does not exist; pass the path of a folder with a config.yml.")
    if not folder.is_dir():
        raise ExecutorFolderNotFoundError(f"{str(path)!r} is not a folder; pass the executor's folder, not a file inside it.")
    folder = folder.resolve()
    # lstat of every file hubpush opens, before it opens any: a FIFO .dockerignore read later would hang the push
    # (a README linked from outside, as monorepos do, is only left out of the portal, as before)
    present = {rel: folder_file(folder, rel, links_out=rel == README_FILE) for rel in READ_BY_HUBPUSH}

    config_path = folder / CONFIG_FILE
    if present[CONFIG_FILE] is None:
        raise InvalidExecutorConfigError(
            f"{printable(folder)} has no {CONFIG_FILE}; an executor folder needs one with 'jtype' and 'metas.name'."
        )
    config = _read_yaml(config_path)
    manifest = _read_yaml(folder / MANIFEST_FILE) if present[MANIFEST_FILE] else {}

    jtype = _text(config.get("jtype") or config.get("__tag__"), "jtype", config_path, names_a_thing=True)
    if not jtype:
        raise InvalidExecutorConfigError(
            f"{config_path} has no 'jtype'; add 'jtype: YourExecutorClass' naming the Executor class."
        )
    raw_metas = config.get("metas")
    metas: dict[str, Any] = raw_metas if isinstance(raw_metas, dict) else {}
    manifest_path = folder / MANIFEST_FILE

    def field(key: str, *legacy_keys: str, names_a_thing: bool = False) -> str:
        """``metas.KEY`` from config.yml, else the legacy manifest.yml keys."""
        found = _text(metas.get(key), f"metas.{key}", config_path, names_a_thing=names_a_thing)
        for legacy in legacy_keys:
            found = found or _text(manifest.get(legacy), legacy, manifest_path, names_a_thing=names_a_thing)
        return found

    name = field("name", "name", names_a_thing=True)
    if not name:
        raise ExecutorNameMissingError(
            f"No executor name found in {folder}: add 'metas: {{name: YourExecutorName}}' to {CONFIG_FILE}."
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidExecutorNameError(
            f"The executor name in {printable(config_path)} is {len(name)} characters long; "
            f"use at most {MAX_NAME_LENGTH} letters, digits, '_', '.' or '-'."
        )
    validate_name(name)
    description = field("description", "description")
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidExecutorConfigError(
            f"metas.description in {printable(config_path)} is {len(description)} characters; the hub keeps at most "
            f"{MAX_DESCRIPTION_LENGTH}: shorten it and put the rest in README.md."
        )
    readme, readme_truncated = read_readme(folder)

    return ExecutorFolder(
        path=folder,
        name=name,
        jtype=jtype,
        description=description,
        version=field("version", "version"),
        source=field("url", "url", "repo"),
        dockerfile=_find_dockerfile(folder, dockerfile),
        has_requirements=present[REQUIREMENTS_FILE] is not None,
        requirement_vars=_requirement_vars(present[REQUIREMENTS_FILE]),
        keywords=read_keywords(metas, manifest, config_path if metas.get("keywords") else manifest_path),
        readme=readme,
        readme_truncated=readme_truncated,
    )


def _find_dockerfile(folder: Path, requested: str | None) -> Path | None:
    if requested is None:
        return folder_file(folder, DEFAULT_DOCKERFILE)
    candidate = Path(requested)
    candidate = (candidate if candidate.is_absolute() else folder / candidate).resolve()
    if not candidate.is_relative_to(folder):
        raise DockerfileError(
            f"Dockerfile {requested!r} is outside the executor folder {folder}; the build context is that folder, "
            "so move the Dockerfile into it."
        )
    if folder_file(folder, candidate.relative_to(folder).as_posix()) is None:
        raise DockerfileError(f"Dockerfile {requested!r} does not exist in {folder}; check the -f path.")
    return candidate


def _requirement_vars(requirements: Path | None) -> list[str]:
    if requirements is None:
        return []
    try:
        data = read_head(requirements, MAX_LIST_FILE_BYTES)
    except OSError as exc:
        raise InvalidExecutorConfigError(
            f"{printable(requirements)} cannot be read ({exc.strerror or exc}); fix its permissions."
        ) from None
    if len(data) > MAX_LIST_FILE_BYTES:
        raise InvalidExecutorConfigError(
            f"{printable(requirements)} is larger than {MAX_LIST_FILE_BYTES >> 20} MiB; a requirements file lists packages, "
            "keep wheels and data in other files."
        )
    found: list[str] = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        if line.lstrip().startswith("#"):
            continue
        found.extend(_REQUIREMENT_VAR.findall(line))
    return list(dict.fromkeys(found))


def parse_build_env(items: list[str]) -> dict[str, str]:
    """``["KEY=VALUE", ...]`` from ``--build-env`` into a dict, or a clear refusal."""
    env: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not _BUILD_ENV_KEY.fullmatch(key):
            raise InvalidBuildEnvError(
                f"--build-env {item.split('=')[0]!r}... is not KEY=VALUE with KEY made of letters, digits and '_'; "
                "write it as --build-env KEY=VALUE."
            )
        env[key] = value
    return env


def check_requirement_vars(folder: ExecutorFolder, build_env: dict[str, str]) -> None:
    """Every ``${VAR}`` in requirements.txt needs a ``--build-env VAR=...``."""
    missing = [var for var in folder.requirement_vars if var not in build_env]
    if missing:
        flags = " ".join(f"--build-env {var}=..." for var in missing)
        raise MissingBuildEnvError(f"requirements.txt uses {', '.join('${' + v + '}' for v in missing)}; pass {flags}.")
