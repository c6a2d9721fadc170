"""The backend for a hub gateway: its hub API applies the rules and writes the metadata.

The gateway records each tag in the metadata as its manifest lands, so there is no final
metadata write here, and its per-executor lock decides races: a concurrent push of the
same new protected tag, or of the same new NAME, loses with a clear refusal.
"""

from __future__ import annotations

import dataclasses

from ..core.policy import PushDecision
from ..errors import HubpushError, ProtectedTagError
from ..hubapi import PushAnswer, PushCheck, RestorePoint
from ..hubapi_client import HubApiClient
from ..oci.client import RegistryClient
from .plan import PushPlan
from .ports import Outcome, TagDestination, Undo, Verdict


class HubGatewayBackend:
    """One push through a hub gateway (see :class:`~hubpush.publish.ports.PushBackend`)."""

    whose = "hub's"
    #: the gateway writes an intent under its lock or not at all
    intent_is_atomic = True

    def __init__(self, hub: HubApiClient, address: str, publisher_token: str | None) -> None:
        self.hub = hub
        self.registry = hub.registry
        #: ``--registry`` as given: the pushes of tags get a client of their own, with the executor's credentials
        self.address = address
        self.publisher_token = publisher_token
        self._restore: RestorePoint | None = None

    def check(self, plan: PushPlan, secret: str | None) -> Verdict:
        """A dry run: every refusal comes back here, before the build."""
        return self._verdict(self._begin(plan, plan.name, secret, dry_run=True))

    def record_intent(self, plan: PushPlan, verdict: Verdict, secret: str) -> None:
        """The gateway checks again, under the executor's lock, and writes the metadata."""
        self._restore = self._begin(plan, verdict.name, secret, dry_run=False).restore

    def destination(self, plan: PushPlan, verdict: Verdict, secret: str) -> TagDestination:
        credentials = (self.hub.username(verdict.name), secret)
        pusher = RegistryClient(self.address, credentials=credentials)
        return TagDestination(pusher, plan.repository, f"{self.registry.location}/{plan.repository}", credentials)

    def finish(self, plan: PushPlan, verdict: Verdict, digest: str) -> None:
        """Nothing to do: the gateway recorded every tag as its manifest landed."""

    def undo(self, failure: HubpushError, plan: PushPlan, verdict: Verdict, secret: str, pushed: list[str]) -> Undo:
        """A lost race for a protected tag says so; otherwise the gateway puts the metadata back if no tag moved."""
        failed = [tag for tag in verdict.decision.tags if tag not in pushed]
        try:
            now = self.hub.executor(plan.repository, verdict.name, secret).metadata
            taken = [tag for tag in failed if tag in now.protected_tags and tag in now.tags]
        except HubpushError:
            taken = []
        if taken:
            names = ", ".join(repr(t) for t in taken)
            return Undo(
                error=ProtectedTagError(
                    f"Tag {names} of executor {verdict.name!r} is protected and was pushed by another push while this one ran; "
                    "it cannot be pushed again, push under a new tag instead."
                )
            )
        try:
            assert self._restore is not None, "record_intent comes first"
            restored = self.hub.abort_push(plan.repository, self._restore, name=verdict.name, secret=secret)
        except HubpushError as exc:  # the hub (or its registry) is gone too: the intent stays, which errs on the safe side
            return Undo(restored=False, why_not=exc.message)
        return Undo(restored=restored)

    def outcome(self, plan: PushPlan, verdict: Verdict, secret: str) -> Outcome:
        now = self.hub.executor(plan.repository, verdict.name, secret).metadata
        return Outcome(visibility=now.visibility, protected_tags=list(now.protected_tags), portal_url=self.hub.portal_url(plan.repository))

    def _begin(self, plan: PushPlan, name: str, secret: str | None, *, dry_run: bool) -> PushAnswer:
        request = plan.request
        check = PushCheck(name, request.is_update, request.tags, request.protected_tags, request.visibility, plan.description, dry_run)
        if not dry_run:  # the README travels once, with the intent
            folder = plan.folder
            check = dataclasses.replace(check, keywords=folder.keywords, readme=folder.readme, readme_truncated=folder.readme_truncated)
        return self.hub.begin_push(plan.repository, check, name=name, secret=secret, publisher_token=self.publisher_token)

    @staticmethod
    def _verdict(answer: PushAnswer) -> Verdict:
        decision = PushDecision(answer.first_publish, answer.tags, answer.protected_tags, answer.visibility)
        return Verdict(name=answer.name, decision=decision)
