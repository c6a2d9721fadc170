"""``hubpush push``: the CLI's front door to the push flow. It wires the real collaborators:
the registry at ``--registry``, the hub gateway in front of it if there is one, the Docker
engine, the local secret cache."""

from __future__ import annotations

from ..config import PushSettings, push_publisher_token
from ..engine import DockerEngine
from ..hubapi_client import HubApiClient
from ..oci.client import RegistryClient
from ..secret_store import SecretStore
from .bare_registry import BareRegistryBackend
from .flow import PushFlow
from .hub_gateway import HubGatewayBackend
from .plan import PushResult, plan_push
from .ports import PushBackend, Reporter, SilentReporter


def push_executor(settings: PushSettings, reporter: Reporter | None = None, *, secret_store: SecretStore | None = None) -> PushResult:
    """Publish or update the executor in ``settings.path``; see :mod:`hubpush.publish.flow` for the order."""
    reporter = reporter or SilentReporter()
    plan = plan_push(settings)  # 1. everything local, before the network
    registry = RegistryClient(settings.registry)
    reporter.step(f"Checking {registry.location}/{plan.repository}")
    registry.ping()
    flow = PushFlow(_backend(registry, settings.registry), DockerEngine, secret_store or SecretStore(), reporter)
    return flow.run(plan)


def _backend(registry: RegistryClient, address: str) -> PushBackend:
    """The hub gateway answering at the registry's address decides; a bare registry leaves it to us."""
    hub = HubApiClient.detect(registry)
    if hub is None:
        return BareRegistryBackend(registry)
    return HubGatewayBackend(hub, address, push_publisher_token())
