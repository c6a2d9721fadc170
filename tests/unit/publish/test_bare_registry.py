"""The bare-registry backend under the real flow, against a registry held in memory."""

from __future__ import annotations

import pytest

from hubpush import errors
from hubpush.core.metadata import Visibility
from hubpush.oci.metadata_store import MetadataStore
from hubpush.publish.bare_registry import BareRegistryBackend
from hubpush.publish.flow import PushFlow
from hubpush.secret_store import SecretStore

from .fakes import LOCATION, FakeEngine, MemoryRegistry, Steps, make_plan

META = "hubpush-meta/tags-hasher"


def run(tmp_path, registry, *, fail_push=None, **plan):
    engine = FakeEngine(registry, fail_push=fail_push)
    secrets = SecretStore(tmp_path / "config")
    flow = PushFlow(BareRegistryBackend(registry), lambda: engine, secrets, Steps())  # type: ignore[arg-type]
    return flow.run(make_plan(tmp_path, **plan)), secrets


def test_the_intent_is_written_before_any_tag_and_the_final_write_records_the_tags(tmp_path):
    registry = MemoryRegistry()
    result, _ = run(tmp_path, registry, tags=["v1"], protected_tags=["1.0"], visibility=Visibility.PRIVATE)
    assert registry.writes == [(META, "current"), ("tags-hasher", "v1"), ("tags-hasher", "1.0"), (META, "current")]
    metadata = MetadataStore(registry).read("tags-hasher")  # type: ignore[arg-type]
    assert metadata is not None and set(metadata.tags) == {"v1", "1.0"} and metadata.protected_tags == ["1.0"]
    assert metadata.tags["v1"].digest == result.digest and metadata.visibility is Visibility.PRIVATE
    assert result.visibility is Visibility.PRIVATE and "a plain registry does not enforce it" in result.warnings[-1]


def test_a_refused_update_writes_nothing(tmp_path):
    registry = MemoryRegistry()
    run(tmp_path / "first", registry)
    writes = list(registry.writes)
    with pytest.raises(errors.WrongSecretError):
        run(tmp_path / "update", registry, is_update=True, secret="not-the-secret")
    assert registry.writes == writes


def test_a_failed_first_publish_deletes_its_intent_and_forgets_the_secret(tmp_path):
    registry = MemoryRegistry()
    with pytest.raises(errors.PushFailedError) as caught:
        run(tmp_path, registry, fail_push=errors.PushFailedError("Pushing failed."))
    assert caught.value.message.endswith("No tag was pushed and the registry's metadata is back as it was.")
    assert MetadataStore(registry).read("tags-hasher") is None  # type: ignore[arg-type]
    assert SecretStore(tmp_path / "config").get(LOCATION, "tags-hasher") is None


def test_a_failed_update_puts_the_previous_metadata_back_byte_for_byte(tmp_path):
    registry = MemoryRegistry()
    first, secrets = run(tmp_path / "first", registry)
    before = registry.get_manifest(META, "current")
    with pytest.raises(errors.PushFailedError):
        run(tmp_path / "update", registry, fail_push=errors.PushFailedError("Pushing failed."),
            is_update=True, secret=first.secret, protected_tags=["2.0"])  # fmt: skip
    assert registry.get_manifest(META, "current") == before
    assert secrets.get(LOCATION, "tags-hasher") == first.secret
