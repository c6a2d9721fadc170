"""``hubpush hub check [--repair]``: read what a registry holds, compare it with the metadata
(:mod:`hubpush.core.consistency`), and write the safe repairs.

It reads the registry itself, never through a hub gateway: the gateway hides private executors
and the metadata repositories. Without ``--registry`` it checks the registry behind the local
hub (``hubpush hub up``) when one runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .core.consistency import REPAIRABLE, ExecutorState, Finding, find_problems, repaired
from .core.metadata import utc_now
from .core.names import executor_paths, is_metadata_path
from .errors import CheckThroughGatewayError, MetadataCorruptError
from .hubapi_client import HubApiClient
from .oci.client import RegistryClient
from .oci.metadata_store import MetadataStore


@dataclass
class CheckReport:
    """What ``hub check`` found, and with ``--repair`` what it changed."""

    registry: str
    executors: int
    findings: list[Finding] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    #: findings still true after the repairs (all of them without ``--repair``)
    remaining: list[Finding] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not self.remaining

    def to_dict(self) -> dict[str, object]:
        return {
            "registry": self.registry,
            "executors": self.executors,
            "consistent": self.consistent,
            "findings": [f.to_dict() for f in self.findings],
            "repaired": self.repaired,
            "remaining": [f.to_dict() for f in self.remaining],
        }


def local_hub_registry() -> str | None:
    """The URL of the registry behind the local hub, when one runs (it is reachable from this machine only)."""
    from .hub import hub_status

    status = hub_status()
    return status.upstream if status else None


def check_registry(address: str, *, repair: bool = False) -> CheckReport:
    """Compare every executor's metadata at ``address`` with its image repository; with ``repair``,
    settle what is safe (the metadata only) and report the rest."""
    registry = RegistryClient(address)
    registry.ping()
    if HubApiClient.detect(registry) is not None:
        raise CheckThroughGatewayError(
            f"{registry.location} is a hub gateway, which hides private executors and their metadata; check the registry "
            "behind it: run 'hubpush hub check' on the hub's machine (it finds the local hub's registry), or pass "
            "--registry with the gateway's --upstream URL."
        )
    catalog = registry.catalog()
    paths = sorted({*executor_paths(catalog), *(path for path in catalog if not is_metadata_path(path))})
    report = CheckReport(registry.location, len(paths))
    for path in paths:
        client, repository = registry.at(path)
        state = read_state(client, repository, path)
        findings = find_problems(state)
        report.findings.extend(findings)
        if repair and state.metadata is not None and any(f.repairable for f in findings):
            report.repaired.extend(_repair(client, repository, state, findings))
            findings = find_problems(read_state(client, repository, path))  # what is left, as the registry now says
        report.remaining.extend(findings)
    return report


def read_state(client: RegistryClient, repository: str, path: str) -> ExecutorState:
    """The metadata and the image tags (with digests) of one executor path."""
    tags = client.list_tags(repository)
    held = None if tags is None else {tag: digest for tag in tags if (digest := _digest(client, repository, tag))}
    store = MetadataStore(client)
    version = store.current_digest(repository) or ""
    try:
        metadata = store.read(repository)
    except MetadataCorruptError as exc:
        return ExecutorState(path, None, held, corrupt=exc.message)
    return ExecutorState(path, metadata, held, version=version)


def _digest(client: RegistryClient, repository: str, tag: str) -> str | None:
    manifest = client.get_manifest(repository, tag)
    return manifest.digest if manifest else None  # listed, then deleted meanwhile: as if never listed


def _repair(client: RegistryClient, repository: str, state: ExecutorState, findings: list[Finding]) -> list[str]:
    """Write the repaired metadata unless a push changed it since it was read (then leave it to the next check).

    Registries have no compare-and-swap, so a push that writes in the instant between the
    re-read and the write can still be overwritten; docs/reliability.md says to repair
    while no push runs."""
    assert state.metadata is not None
    store = MetadataStore(client)
    fix = repaired(state.metadata, [f for f in findings if f.problem in REPAIRABLE], utc_now())
    if not fix.done:
        return []
    if store.current_digest(repository) != state.version:
        return [f"left {state.repository} alone: its metadata changed while the check ran (a push?); run the check again"]
    store.write(fix.metadata)
    return fix.done
