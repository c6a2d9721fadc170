"""The hub-gateway backend under the real flow, against a hub API that answers from a script."""

from __future__ import annotations

import pytest

from hubpush import errors
from hubpush.core.metadata import ExecutorMetadata, TagRecord, Visibility
from hubpush.hubapi import ExecutorListing, PushAnswer, PushCheck, RestorePoint
from hubpush.publish.flow import PushFlow
from hubpush.publish.hub_gateway import HubGatewayBackend
from hubpush.secret_store import SecretStore

from .fakes import LOCATION, FakeEngine, MemoryRegistry, Steps, make_plan

RESTORE = RestorePoint(None, "sha256:intent", "signed")


class ScriptedHub:
    """The hub API as :class:`~hubpush.hubapi_client.HubApiClient` offers it; records every call."""

    def __init__(self, registry: MemoryRegistry, *, recorded_name: str = "TagsHasher", taken: list[str] | None = None) -> None:
        self.registry = registry
        self.recorded_name = recorded_name
        self.taken = taken or []
        self.calls: list[tuple[object, ...]] = []

    def username(self, name: str) -> str:
        return name

    def portal_url(self, repository: str = "") -> str:
        return f"http://{LOCATION}/executors/{repository}"

    def begin_push(self, repository: str, check: PushCheck, *, name: str, secret: str | None, publisher_token: str | None) -> PushAnswer:
        self.calls.append(("push", check.name, check.dry_run, name, secret, publisher_token))
        tags = [*check.tags, *check.protected_tags] or ["latest"]
        restore = None if check.dry_run else RESTORE
        return PushAnswer(not check.is_update, self.recorded_name, tags, check.protected_tags, Visibility.PRIVATE, restore)

    def abort_push(self, repository: str, restore: RestorePoint, *, name: str, secret: str) -> bool:
        self.calls.append(("abort", restore))
        return True

    def executor(self, repository: str, name: str, secret: str | None) -> ExecutorListing:
        self.calls.append(("executor", name))
        tags = {tag: TagRecord("sha256:theirs", "t") for tag in self.taken}
        metadata = ExecutorMetadata(self.recorded_name, repository, Visibility.PRIVATE, "", "t", "t", protected_tags=self.taken, tags=tags)
        return ExecutorListing(metadata, list(tags))


def run(tmp_path, hub, *, fail_push=None, **plan):
    backend = HubGatewayBackend(hub, LOCATION, "publisher-token")  # type: ignore[arg-type]
    flow = PushFlow(backend, lambda: FakeEngine(hub.registry, fail_push=fail_push), SecretStore(tmp_path / "config"), Steps())  # type: ignore[arg-type]
    return flow.run(make_plan(tmp_path, **plan))


def test_a_dry_run_before_the_build_then_the_intent_under_the_recorded_name(tmp_path):
    hub = ScriptedHub(MemoryRegistry(), recorded_name="Tagshasher")
    result = run(tmp_path, hub, is_update=True, secret="s3cret")
    assert hub.calls == [
        ("push", "TagsHasher", True, "TagsHasher", "s3cret", "publisher-token"),
        ("push", "Tagshasher", False, "Tagshasher", "s3cret", "publisher-token"),
        ("executor", "Tagshasher"),
    ]
    assert result.name == "Tagshasher" and result.visibility is Visibility.PRIVATE and result.warnings[0].startswith("'TagsHasher' is executor")
    assert result.portal_url == f"http://{LOCATION}/executors/{result.repository}"


def test_a_lost_race_for_a_protected_tag_says_so_and_aborts_nothing(tmp_path):
    hub = ScriptedHub(MemoryRegistry(), taken=["1.0"])
    with pytest.raises(errors.ProtectedTagError, match="was pushed by another push while this one ran"):
        run(tmp_path, hub, fail_push=errors.PushFailedError("Pushing failed."), protected_tags=["1.0"])
    assert not any(call[0] == "abort" for call in hub.calls)


def test_any_other_failure_hands_the_restore_point_back(tmp_path):
    hub = ScriptedHub(MemoryRegistry())
    with pytest.raises(errors.PushFailedError) as caught:
        run(tmp_path, hub, fail_push=errors.PushFailedError("Pushing failed."))
    assert hub.calls[-1] == ("abort", RESTORE)
    assert caught.value.message.endswith("No tag was pushed and the hub's metadata is back as it was.")
