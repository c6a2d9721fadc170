"""``hubpush push``: the CLI's front door to the push flow. It wires the real collaborators:
the registry at ``--registry``, the hub gateway in front of it if there is one, the Docker
engine, the local secret cache."""

from __future__ import annotations

from collections.abc import Callable

from ..config import PushSettings, push_publisher_token
from ..engine import DockerEngine
from ..hubapi_client import HubApiClient
from ..oci.client import RegistryClient
from ..secret_store import SecretStore
from .bare_registry import BareRegistryBackend
from .flow import PushFlow, ResumeHint, cli_resume_hint
from .hub_gateway import HubGatewayBackend
from .plan import PushResult, plan_push
from .ports import Engine, PushBackend, Reporter, SilentReporter


def push_executor(
    settings: PushSettings,
    reporter: Reporter | None = None,
    *,
    secret_store: SecretStore | None = None,
    engine: Callable[[], Engine] = DockerEngine,
    publisher_token: str | None = None,
    resume_hint: ResumeHint = cli_resume_hint,
) -> PushResult:
    """Publish or update the executor in ``settings.path``; see :mod:`hubpush.publish.flow` for the order.

    The CLI passes only the settings; the hub's own builds (``jina hub push``) also hand in the
    engine factory (it tells them when the push was allowed), the publisher token their caller
    proved (``""`` when none), and how a reserved NAME is resumed with Jina's client."""
    reporter = reporter or SilentReporter()
    plan = plan_push(settings)  # 1. everything local, before the network
    registry = RegistryClient(settings.registry)
    reporter.step(f"Checking {registry.location}/{plan.repository}")
    registry.ping()
    # None: the CLI's own HUBPUSH_PUBLISHER_TOKEN; "" (a hub build whose caller proved none): no token at all,
    # never the one the hub process happens to have in its environment
    publisher = push_publisher_token() if publisher_token is None else publisher_token or None
    backend = _backend(registry, settings.registry, publisher)
    flow = PushFlow(backend, engine, secret_store or SecretStore(), reporter, resume_hint=resume_hint)
    return flow.run(plan)


def _backend(registry: RegistryClient, address: str, publisher_token: str | None) -> PushBackend:
    """The hub gateway answering at the registry's address decides; a bare registry leaves it to us."""
    hub = HubApiClient.detect(registry)
    if hub is None:
        return BareRegistryBackend(registry)
    return HubGatewayBackend(hub, address, publisher_token)
