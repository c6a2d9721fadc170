"""What the push flow needs from the world, as small protocols, and what it hands around.

The flow (:mod:`.flow`) is written against these only, so it runs as well with the real
Docker engine, registry and hub gateway as with fakes in unit tests. A backend is where a
push's rules run and its metadata is written:

- :class:`~hubpush.publish.bare_registry.BareRegistryBackend`: a plain OCI registry; the
  CLI reads the metadata, applies the policy itself and writes the metadata;
- :class:`~hubpush.publish.hub_gateway.HubGatewayBackend`: a hub gateway; its hub API
  decides and records, under the executor's lock;
- (to come) the gateway itself, building a folder uploaded to it, with its directory of
  executors as the backend.

A backend object serves one push: it may keep what it learnt in ``check`` for the later steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..core.metadata import Visibility
from ..core.policy import PushDecision
from ..engine import BuildRequest, LogSink
from ..errors import HubpushError
from ..oci.client import RegistryClient
from ..oci.media import Manifest
from .plan import PushPlan


class Reporter(Protocol):
    """Where the flow tells people what it is doing. The CLI renders it."""

    def step(self, message: str) -> None: ...

    def log(self, line: str) -> None: ...


class SilentReporter:
    """A reporter that tells nobody (library use, tests)."""

    def step(self, message: str) -> None: ...

    def log(self, line: str) -> None: ...


class Engine(Protocol):
    """The part of :class:`~hubpush.engine.DockerEngine` a push uses."""

    def build(self, request: BuildRequest, on_log: LogSink = ...) -> str: ...

    def tag(self, image_id: str, repository: str, tag: str) -> None: ...

    def push(
        self, repository: str, tag: str, on_log: LogSink = ..., *, credentials: tuple[str, str] | None = ..., on_wait: LogSink = ...
    ) -> str: ...


class TagRegistry(Protocol):
    """The part of :class:`~hubpush.oci.client.RegistryClient` that points further tags at a pushed manifest."""

    def get_manifest(self, repository: str, reference: str) -> Manifest | None: ...

    def put_manifest(self, repository: str, reference: str, raw: bytes, media_type: str) -> str: ...


@dataclass(frozen=True)
class Verdict:
    """A push the backend allows: the NAME as recorded (it may differ from the requested
    one in case, e.g. ``--force-update tags_hasher`` for ``TagsHasher``) and the decision."""

    name: str
    decision: PushDecision


@dataclass(frozen=True)
class TagDestination:
    """Where and how the tags of a push go: the engine pushes the first one to ``image``
    (with ``credentials`` for this push only, if any), ``registry`` copies its manifest to the others."""

    registry: TagRegistry
    repository: str
    image: str
    credentials: tuple[str, str] | None = None


@dataclass(frozen=True)
class Undo:
    """What a backend could do about a push that failed after its intent was recorded."""

    #: the metadata is back as it was before the push
    restored: bool = False
    #: False when the failure's own sentence says all there is to say
    explain: bool = True
    #: a more precise error that replaces the failure (e.g. a race for a protected tag was lost)
    error: HubpushError | None = None
    #: why undoing failed too (e.g. the registry behind the hub is down), for the failure's sentence
    why_not: str = ""


@dataclass(frozen=True)
class Outcome:
    """What a finished push left in the metadata, and what the user should know about it."""

    visibility: Visibility
    protected_tags: list[str]
    warnings: list[str] = field(default_factory=list)
    #: the executor's page on the hub's portal ("" on a bare registry)
    portal_url: str = ""


class PushBackend(Protocol):
    """Where a push's rules run and its metadata is written. Every method may raise the
    :class:`~hubpush.errors.HubpushError` that refuses or fails the push."""

    #: the registry as this push names it: image references, user names, its address in messages
    registry: RegistryClient
    #: whose metadata a failure message speaks of ("registry's", "hub's")
    whose: str
    #: True when a refused intent leaves nothing written, so a new NAME's fresh secret guards nothing
    intent_is_atomic: bool

    def check(self, plan: PushPlan, secret: str | None) -> Verdict:
        """Apply the rules: every refusal happens here, before any build and before any write."""

    def record_intent(self, plan: PushPlan, verdict: Verdict, secret: str) -> None:
        """Write the metadata the push will leave (owner, visibility, protected tags) before any tag moves."""

    def destination(self, plan: PushPlan, verdict: Verdict, secret: str) -> TagDestination:
        """Where the tags are pushed, and with which credentials."""

    def finish(self, plan: PushPlan, verdict: Verdict, digest: str) -> None:
        """Record the pushed tags (at ``digest``) in the metadata, if that is the client's job."""

    def undo(self, failure: HubpushError, plan: PushPlan, verdict: Verdict, secret: str, pushed: list[str]) -> Undo:
        """After pushing or finishing failed (``pushed`` tags had landed): put the metadata back if no tag moved."""

    def outcome(self, plan: PushPlan, verdict: Verdict, secret: str) -> Outcome:
        """Visibility and protected tags as the metadata now records them."""
