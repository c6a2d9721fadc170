"""What an image gets from its folder besides the files: the rendered Dockerfile template
(for folders without a Dockerfile) and the OCI labels."""

from __future__ import annotations

import re
from importlib import resources

from .. import __version__
from .folder import REQUIREMENTS_FILE, ExecutorFolder

#: Name of the rendered Dockerfile inside the context (also of a folder's own Dockerfile with the labels added).
RENDERED_DOCKERFILE = ".hubpush.Dockerfile"

_LABEL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: the engine reads a Dockerfile line by line with Go's bufio.Scanner (64 KiB per line): stay well below
MAX_LABEL_LINE = 32 * 1024
_ESCAPE_DIRECTIVE = re.compile(r"^#\s*escape\s*=\s*(\S)", re.IGNORECASE)


def render_dockerfile(folder: ExecutorFolder, base_image: str, build_env_keys: list[str]) -> str:
    """Render ``Dockerfile.template`` for a folder that brings no Dockerfile."""
    template = resources.files("hubpush.executor").joinpath("Dockerfile.template").read_text(encoding="utf-8")
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


def image_labels(folder: ExecutorFolder, name: str, repository: str, created: str) -> dict[str, str]:
    """OCI labels from config.yml / manifest.yml, plus hubpush's own. Never the secret."""
    labels = {
        "org.opencontainers.image.title": name,
        "org.opencontainers.image.description": folder.description,
        "org.opencontainers.image.source": folder.source,
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.version": folder.version,
        "io.hubpush.name": name,
        "io.hubpush.repository": repository,
        "io.hubpush.executor-class": folder.jtype,
        "io.hubpush.builder-version": __version__,
    }
    # empty OCI values are kept on purpose: they override what the base image says of itself
    return {key: value for key, value in labels.items() if value or key.startswith("org.opencontainers.")}


def label_instruction(labels: dict[str, str]) -> str | None:
    """All ``labels`` as one Dockerfile ``LABEL`` instruction (one build step; the engine's
    ``labels=`` option makes one step per label), or None when a value cannot be written on one
    Dockerfile line (a newline or another control character, or longer than :data:`MAX_LABEL_LINE`
    in all): then the engine must add them.

    Values are single-quoted, so the builder expands no ``$VAR`` and no escape in them: the
    labels come out byte for byte as given. A ``'`` is closed, written in double quotes and
    reopened (``'it'"'"'s'``), as in a shell. Keys are sorted, like the engine's own order.
    """
    if any(not _LABEL_KEY.match(key) or _CONTROL.search(value) for key, value in labels.items()):
        return None
    pairs = (f"{key}='{value.replace(chr(39), chr(39) + chr(34) + chr(39) + chr(34) + chr(39))}'" for key, value in sorted(labels.items()))
    line = "LABEL " + " ".join(pairs)
    return line if len(line.encode("utf-8")) <= MAX_LABEL_LINE else None


def with_labels(dockerfile: str, labels: dict[str, str]) -> str | None:
    """``dockerfile`` with :func:`label_instruction` appended (the labels of the last stage, i.e.
    the image), or None when that is not safe: labels that need the engine, or a Dockerfile
    whose last line continues onto the next (it would swallow the ``LABEL``)."""
    instruction = label_instruction(labels)
    if instruction is None:
        return None
    lines = dockerfile.splitlines()
    match = _ESCAPE_DIRECTIVE.match(lines[0]) if lines else None
    escape = match.group(1) if match else "\\"
    code = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if code and code[-1].endswith(escape):
        return None
    separator = "" if not dockerfile or dockerfile.endswith(("\n", "\r")) else "\n"
    return f"{dockerfile}{separator}# added by hubpush: the image labels, in one step\n{instruction}\n"
