"""NAMEs that read the same as an existing executor's are taken: behind a hub gateway and on a bare
registry, with the real CLI. Updates, and executors that collided before the rule, are unaffected."""

from __future__ import annotations

import uuid

import pytest

from hubpush.core.metadata import Visibility, new_metadata, utc_now
from hubpush.core.names import repository_for
from hubpush.core.policy import PushDecision
from hubpush.core.secrets import hash_secret
from hubpush.oci.client import RegistryClient
from hubpush.oci.metadata_store import MetadataStore
from tests.conftest import push_ok


@pytest.fixture(params=["bare registry", "hub gateway"])
def target(request, registry):
    """(address the CLI pushes to, the registry that address stores in)"""
    if request.param == "bare registry":
        return registry.address, registry
    hub = request.getfixturevalue("gateway")
    return hub.address, hub.registry


def names(prefix: str) -> tuple[str, str]:
    """A CamelCase NAME and one that reads the same in capitals: two repositories, one folded form."""
    tail = "7" + uuid.uuid4().hex[:7]  # a digit first: the tail never joins the prefix's last word
    existing, confusable = f"{prefix}{tail}", f"{prefix.upper()}{tail.upper()}"
    assert repository_for(existing) != repository_for(confusable), (existing, confusable)
    return existing, confusable


@pytest.mark.parametrize("prefix", ["PrivB", "CaseExec"])
def test_a_first_publish_that_reads_like_an_existing_executor_is_refused_naming_it(hubpush, make_executor, target, prefix):
    address, storage = target
    existing, confusable = names(prefix)
    push_ok(hubpush, make_executor(name=existing)[0], env={"HUBPUSH_REGISTRY": address})

    before = storage.snapshot()
    refused = hubpush("push", make_executor(name=confusable)[0], env={"HUBPUSH_REGISTRY": address})
    assert refused.exit_code == 21, refused.stderr + refused.stdout
    assert f"reads the same as the existing executor '{existing}'" in refused.stderr
    assert f"--force-update {existing} --secret SECRET" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert storage.snapshot() == before

    # the existing executor is updated as ever
    updated = push_ok(hubpush, make_executor(name=existing)[0], "--force-update", existing, "-t", "v2", env={"HUBPUSH_REGISTRY": address})
    assert "v2" in updated["tags"]


def test_executors_that_collided_before_the_rule_stay_usable(hubpush, make_executor, target, tmp_path):
    address, storage = target
    existing, confusable = names("ClashX")
    push_ok(hubpush, make_executor(name=existing)[0], env={"HUBPUSH_REGISTRY": address})
    # a collision made before names were folded: its metadata written straight into the registry
    secret = "an-older-secret-of-at-least-22-characters"
    decision = PushDecision(True, ["latest"], [], Visibility.PUBLIC)
    older = new_metadata(confusable, repository_for(confusable), decision, hash_secret(secret), "", utc_now())
    MetadataStore(RegistryClient(storage.address)).write(older)

    for name, extra in ((confusable, ["--secret", secret]), (existing, [])):
        out = push_ok(hubpush, make_executor(name=name)[0], "--force-update", name, *extra, "-t", "again", env={"HUBPUSH_REGISTRY": address})
        assert out["name"] == name and "again" in out["tags"]
