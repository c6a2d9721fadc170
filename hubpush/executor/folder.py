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

import yaml

from ..errors import (
    DockerfileError,
    ExecutorFolderNotFoundError,
    ExecutorNameMissingError,
    InvalidBuildEnvError,
    InvalidExecutorConfigError,
    MissingBuildEnvError,
)
from ..core.names import validate_name
from .presentation import read_keywords, read_readme

CONFIG_FILE = "config.yml"
MANIFEST_FILE = "manifest.yml"
REQUIREMENTS_FILE = "requirements.txt"
DEFAULT_DOCKERFILE = "Dockerfile"

#: ``${VAR}`` as pip expands it in requirements files (upper case, digits, ``_``).
_REQUIREMENT_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BUILD_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _TolerantLoader(yaml.SafeLoader):
    """Safe YAML loader that accepts Jina's ``!ClassName`` tags instead of failing.

    Old Jina configs say ``!MyExecutor`` at the top instead of ``jtype: MyExecutor``;
    the tag is kept under the key ``__tag__`` so it can stand in for ``jtype``.
    """


def _construct_tagged(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        value: Any = loader.construct_mapping(node, deep=True)
        value.setdefault("__tag__", tag_suffix)
        return value
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_TolerantLoader.add_multi_constructor("!", _construct_tagged)


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
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_TolerantLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise InvalidExecutorConfigError(f"{path} is not valid YAML{where}: {problem}; fix the file and push again.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidExecutorConfigError(f"{path} cannot be read ({exc.__class__.__name__}); check the file.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidExecutorConfigError(f"{path} must be a YAML mapping (key: value), not a {type(data).__name__}.")
    return data


def _text(value: Any, key: str, where: Path, *, names_a_thing: bool = False) -> str:
    """A YAML scalar as text. ``names_a_thing`` (names, classes) demands a string: YAML reads
    ``name: true`` or ``name: 1e3`` as other types, and hubpush will not guess what was meant."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if not names_a_thing and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise InvalidExecutorConfigError(
        f"'{key}' in {where} must be a plain text value, not {type(value).__name__} {value!r}; quote it."
    )


def load_executor_folder(path: Path, dockerfile: str | None = None) -> ExecutorFolder:
    """Validate ``path`` as an executor folder and read what the build needs."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise ExecutorFolderNotFoundError(f"Executor folder {str(path)!r} does not exist; pass the path of a folder with a config.yml.")
    if not folder.is_dir():
        raise ExecutorFolderNotFoundError(f"{str(path)!r} is not a folder; pass the executor's folder, not a file inside it.")
    folder = folder.resolve()

    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise InvalidExecutorConfigError(
            f"{folder} has no {CONFIG_FILE}; an executor folder needs one with 'jtype' and 'metas.name'."
        )
    config = _read_yaml(config_path)
    manifest = _read_yaml(folder / MANIFEST_FILE) if (folder / MANIFEST_FILE).is_file() else {}

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
    validate_name(name)
    readme, readme_truncated = read_readme(folder)

    return ExecutorFolder(
        path=folder,
        name=name,
        jtype=jtype,
        description=field("description", "description"),
        version=field("version", "version"),
        source=field("url", "url", "repo"),
        dockerfile=_find_dockerfile(folder, dockerfile),
        has_requirements=(folder / REQUIREMENTS_FILE).is_file(),
        requirement_vars=_requirement_vars(folder / REQUIREMENTS_FILE),
        keywords=read_keywords(metas, manifest, config_path if metas.get("keywords") else manifest_path),
        readme=readme,
        readme_truncated=readme_truncated,
    )


def _find_dockerfile(folder: Path, requested: str | None) -> Path | None:
    if requested is None:
        default = folder / DEFAULT_DOCKERFILE
        return default if default.is_file() else None
    candidate = Path(requested)
    candidate = (candidate if candidate.is_absolute() else folder / candidate).resolve()
    if not candidate.is_relative_to(folder):
        raise DockerfileError(
            f"Dockerfile {requested!r} is outside the executor folder {folder}; the build context is that folder, "
            "so move the Dockerfile into it."
        )
    if not candidate.is_file():
        raise DockerfileError(f"Dockerfile {requested!r} does not exist in {folder}; check the -f path.")
    return candidate


def _requirement_vars(requirements: Path) -> list[str]:
    if not requirements.is_file():
        return []
    try:
        text = requirements.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InvalidExecutorConfigError(f"{requirements} cannot be read ({exc.strerror or exc}); fix its permissions.") from None
    found: list[str] = []
    for line in text.splitlines():
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
