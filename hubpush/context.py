"""The build context: the executor folder as a tar stream on disk, never in memory.

Honours ``.dockerignore`` (Docker's own matcher from docker-py), else ``.gitignore``
(git's matcher from pathspec). ``.git`` and hubpush's local state are never sent.
When the folder has no Dockerfile, the rendered template is added to the archive.
"""

from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import IO

import pathspec
from docker.utils.build import create_archive, exclude_paths

from .executor import REQUIREMENTS_FILE, ExecutorFolder

#: Never part of a build context, whatever the ignore files say.
ALWAYS_EXCLUDED = (".git", ".hubpush")
#: Name of the rendered Dockerfile inside the context.
RENDERED_DOCKERFILE = ".hubpush.Dockerfile"


def render_dockerfile(folder: ExecutorFolder, base_image: str, build_env_keys: list[str]) -> str:
    """Render ``Dockerfile.template`` for a folder that brings no Dockerfile."""
    template = resources.files("hubpush").joinpath("Dockerfile.template").read_text(encoding="utf-8")
    # ARG makes each --build-env visible to `pip install`, which expands ${VAR} in requirements.txt
    build_args = "\n".join(f"ARG {key}" for key in build_env_keys)
    install = (
        f"COPY {REQUIREMENTS_FILE} /workdir/{REQUIREMENTS_FILE}\n"
        f"RUN pip install --no-cache-dir -r {REQUIREMENTS_FILE}"
        if folder.has_requirements
        else "# (no requirements.txt)"
    )
    return (
        template.replace("{{ base_image }}", base_image)
        .replace("{{ build_args }}", build_args)
        .replace("{{ install_requirements }}", install)
    )


def context_files(root: Path, dockerfile: str | None) -> list[str]:
    """Relative paths of the files that go into the build context, sorted."""
    dockerignore = root / ".dockerignore"
    gitignore = root / ".gitignore"
    if dockerignore.is_file():
        patterns = [
            line.strip()
            for line in dockerignore.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        ]
        files = set(exclude_paths(str(root), [*patterns, *ALWAYS_EXCLUDED], dockerfile=dockerfile))
    else:
        spec = pathspec.GitIgnoreSpec.from_lines(gitignore.read_text(encoding="utf-8").splitlines()) if gitignore.is_file() else None
        files = set()
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = Path(dirpath).relative_to(root)
            dirnames[:] = [
                d for d in dirnames
                if d not in ALWAYS_EXCLUDED and not (spec and spec.match_file((rel_dir / d).as_posix() + "/"))
            ]
            for name in filenames:
                rel = (rel_dir / name).as_posix()
                if name in ALWAYS_EXCLUDED or (spec and spec.match_file(rel)):
                    continue
                files.add(rel)
    # the Dockerfile must reach the daemon even when an ignore file names it
    if dockerfile:
        files.add(dockerfile)
    return sorted(f for f in files if not f.split("/")[0] in ALWAYS_EXCLUDED)


def build_context(folder: ExecutorFolder, rendered_dockerfile: str | None) -> IO[bytes]:
    """The context as an uncompressed tar in a temporary file, rewound and ready to stream.

    Uncompressed on purpose: the engine is usually local, and gzip would cost more
    CPU time than it saves in transfer.
    """
    extra = [(RENDERED_DOCKERFILE, rendered_dockerfile)] if rendered_dockerfile is not None else None
    archive = tempfile.NamedTemporaryFile(prefix="hubpush-context-", suffix=".tar")  # noqa: SIM115 (caller closes)
    create_archive(
        root=str(folder.path),
        files=context_files(folder.path, folder.dockerfile_in_context),
        fileobj=archive,
        extra_files=extra,
    )
    archive.seek(0)
    return archive
