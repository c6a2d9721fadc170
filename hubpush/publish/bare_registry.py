"""The backend for a bare OCI registry: the CLI reads the metadata, applies the policy
itself and writes the metadata, narrowing races by reading its own writes back.

Registries have no compare-and-swap for manifests, so what two concurrent pushes of one
executor can still do here is described in docs/architecture.md; behind a hub gateway
(:mod:`.hub_gateway`) those races are closed.
"""

from __future__ import annotations

import copy
import dataclasses

from ..core.metadata import ExecutorMetadata, Presentation, Visibility, new_metadata, presented, updated_metadata, utc_now
from ..core.names import confusable_paths, executor_paths
from ..core.policy import decide_push
from ..core.secrets import hash_secret
from ..errors import ConcurrentPushError, HubpushError, RegistryError
from ..oci.client import RegistryClient
from ..oci.metadata_store import MetadataStore
from .plan import PushPlan
from .ports import Outcome, TagDestination, Undo, Verdict


class BareRegistryBackend:
    """One push to a plain registry (see :class:`~hubpush.publish.ports.PushBackend`)."""

    whose = "registry's"
    #: writing the intent can fail half-way (written, then the read-back failed): keep a new secret
    intent_is_atomic = False

    def __init__(self, registry: RegistryClient) -> None:
        self.registry = registry
        self.store = MetadataStore(registry)
        self._current: ExecutorMetadata | None = None
        self._registry_tags: list[str] = []
        #: the metadata before this push, restored byte for byte if the push ends up moving no tag
        self._previous: ExecutorMetadata | None = None
        self._metadata: ExecutorMetadata | None = None
        #: where the first tag pointed before this push, to tell after a failure whether it moved
        self._first_tag_before: str | None = None

    def check(self, plan: PushPlan, secret: str | None) -> Verdict:
        self._current = self.store.read(plan.repository)
        request = dataclasses.replace(plan.request, secret=secret)  # the given secret, or the cached one
        self._registry_tags = self.registry.list_tags(plan.repository) or []
        rivals = self._rivals(plan.repository) if not request.is_update and self._current is None else []
        decision = decide_push(request, self._current, self._registry_tags, registry=self.registry.location, rivals=rivals)
        # `--force-update tags_hasher` reaches `TagsHasher` (same repository): keep the recorded NAME
        return Verdict(name=self._current.name if self._current else plan.name, decision=decision)

    def _rivals(self, repository: str) -> list[ExecutorMetadata]:
        """The executors whose repositories fold like ``repository``, from the registry's catalog.

        A registry that lists no catalog (GHCR) or not to these credentials (Harbor, for non-admins)
        hides them: the first publish then goes ahead, as it did before names were folded."""
        try:
            executors = executor_paths(self.registry.catalog())
        except RegistryError:
            return []
        confusable = confusable_paths(self.registry.qualified(repository), executors)
        found = [self.store.read(path.rpartition("/")[2]) for path in confusable]
        return [metadata for metadata in found if metadata is not None]

    def record_intent(self, plan: PushPlan, verdict: Verdict, secret: str) -> None:
        decision = verdict.decision
        self._previous = copy.deepcopy(self._current)
        if decision.is_first_publish:
            metadata = new_metadata(verdict.name, plan.repository, decision, hash_secret(secret), plan.description, utc_now())
        else:
            assert self._current is not None  # decide_push guarantees it
            metadata = updated_metadata(self._current, decision, plan.description)
        presented(metadata, self._presentation(plan))
        first = decision.tags[0]
        # no request for a tag the registry does not list
        self._first_tag_before = self._digest_of(plan.repository, first) if first in self._registry_tags else None
        self._write_intent(metadata)
        self._metadata = metadata

    def _presentation(self, plan: PushPlan) -> Presentation:
        """The folder's keywords, and its README stored as a blob the metadata artifact links."""
        folder = plan.folder
        readme = self.store.write_readme(plan.repository, folder.readme, truncated=folder.readme_truncated) if folder.readme else None
        return Presentation(keywords=folder.keywords, readme=readme)

    def destination(self, plan: PushPlan, verdict: Verdict, secret: str) -> TagDestination:
        return TagDestination(self.registry, plan.repository, f"{self.registry.location}/{plan.repository}")

    def finish(self, plan: PushPlan, verdict: Verdict, digest: str) -> None:
        """Record the pushed tags on top of whatever a concurrent push recorded meanwhile."""
        metadata = self._intent()
        latest = self.store.read(metadata.repository)
        if latest is not None and latest.secret_hash != metadata.secret_hash:
            # never take the NAME from whoever claimed it meanwhile
            raise ConcurrentPushError(
                f"Another push claimed executor {metadata.name!r} while this one ran; its metadata was kept, "
                "check 'hubpush show' before pushing again."
            )
        if latest is not None:
            metadata.absorb(latest)
        metadata.record_push(verdict.decision.tags, digest, utc_now())
        self.store.write(metadata)

    def undo(self, failure: HubpushError, plan: PushPlan, verdict: Verdict, secret: str, pushed: list[str]) -> Undo:
        """If no tag moved, put the metadata back as it was (the registry is then unchanged)."""
        if isinstance(failure, ConcurrentPushError):
            return Undo(explain=False)  # another push owns what is there now: leave it alone
        try:
            if self._digest_of(plan.repository, verdict.decision.tags[0]) != self._first_tag_before:
                return Undo(restored=False)  # a tag moved: the intent (protected tags!) must stay
            if self._previous is not None:
                self.store.write(self._previous)
                return Undo(restored=True)
            return Undo(restored=self.store.delete(plan.repository))
        except HubpushError as exc:  # the registry is gone too: leave the intent, it errs on the safe side
            return Undo(restored=False, why_not=exc.message)

    def outcome(self, plan: PushPlan, verdict: Verdict, secret: str) -> Outcome:
        metadata = self._intent()
        warnings = []
        if metadata.visibility is Visibility.PRIVATE:
            # honest about the limit: a plain registry serves every image to whoever can reach it
            warnings.append(
                f"'private' is recorded in the metadata, but a plain registry does not enforce it: anyone who can reach "
                f"{self.registry.location} can pull this image; put the hub gateway in front of it ('hubpush hub up', or "
                "'hubpush hub serve') to enforce it."
            )
        return Outcome(visibility=metadata.visibility, protected_tags=metadata.protected_tags, warnings=warnings)

    def _intent(self) -> ExecutorMetadata:
        assert self._metadata is not None, "record_intent comes first"
        return self._metadata

    def _write_intent(self, metadata: ExecutorMetadata) -> None:
        """Write the intent and read it back.

        Registries have no compare-and-swap for manifests, so reading our own write back is
        how a concurrent push of the same executor is noticed before any tag moves.
        """
        self.store.write(metadata)
        stored = self.store.read(metadata.repository)
        if stored is None or stored.secret_hash != metadata.secret_hash or not set(metadata.protected_tags) <= set(stored.protected_tags):
            raise ConcurrentPushError(
                f"Another push changed executor {metadata.name!r} at the same moment; nothing was pushed, run the command again."
            )

    def _digest_of(self, repository: str, tag: str) -> str | None:
        manifest = self.registry.get_manifest(repository, tag)
        return manifest.digest if manifest else None
