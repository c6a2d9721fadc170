"""What an image gets from its folder besides the files: the rendered Dockerfile template
(for folders without a Dockerfile) and the OCI labels."""

from __future__ import annotations

from importlib import resources

from .. import __version__
from .folder import REQUIREMENTS_FILE, ExecutorFolder

#: Name of the rendered Dockerfile inside the context.
RENDERED_DOCKERFILE = ".hubpush.Dockerfile"


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
