"""``hubpush pull NAME``: pull an executor's image, with its secret when it is private.

The credentials go to the engine for this one pull (as ``docker login`` would, but
without storing them anywhere), so a private executor can be pulled on a machine that
holds only its secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from .core.names import repository_for, validate_tag
from .engine import DockerEngine
from .errors import PullFailedError, SecretRequiredError, WrongSecretError
from .oci.client import RegistryClient
from .secret_store import SecretStore


@dataclass(frozen=True)
class PullResult:
    """A pulled image, as ``hubpush pull`` reports it."""

    name: str
    image: str
    digest: str

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "image": self.image, "digest": self.digest}


def pull_executor(
    registry_address: str, name: str, tag: str, secret: str | None, secret_store: SecretStore | None = None
) -> PullResult:
    """Pull ``NAME:tag`` into the local engine; a private executor needs its secret (given or cached)."""
    registry = RegistryClient(registry_address)
    repository = repository_for(name)
    validate_tag(tag)
    secret = secret or (secret_store or SecretStore()).get(registry.location, repository)
    image = f"{registry.location}/{repository}"
    try:
        digest = DockerEngine().pull(image, tag, credentials=(registry.qualified(name), secret) if secret else None)
    except PullFailedError as exc:
        raise _explain(exc, name, image, tag, secret is not None) from None
    return PullResult(name=name, image=f"{image}:{tag}", digest=digest)


def _explain(exc: PullFailedError, name: str, image: str, tag: str, had_secret: bool) -> PullFailedError | SecretRequiredError | WrongSecretError:
    said = exc.message
    lowered = said.lower()
    if "incorrect name or secret" in lowered:
        return WrongSecretError(f"The secret given for executor {name!r} is wrong; nothing was pulled.")
    if not had_secret and ("unauthorized" in lowered or "denied" in lowered or "authentication required" in lowered):
        return SecretRequiredError(
            f"{image}:{tag} is private or does not exist: pass --secret SECRET if executor {name!r} is private."
        )
    if "manifest unknown" in lowered or "not found" in lowered:
        return PullFailedError(f"{image} has no tag {tag!r}; 'hubpush show {name}' lists its tags.")
    return PullFailedError(f"Pulling {image}:{tag} failed: {said}")
