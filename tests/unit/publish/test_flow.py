"""The push flow's order, with fakes: what it asks of the backend and the engine, and when."""

from __future__ import annotations

import pytest

from hubpush import errors
from hubpush.publish.ports import Undo

from .fakes import LOCATION, make_plan, rig


def test_a_first_publish_checks_builds_records_pushes_and_finishes_in_that_order(tmp_path):
    r = rig(tmp_path)
    result = r.flow().run(make_plan(tmp_path, tags=["v1", "v2"]))
    assert r.backend.calls == ["check", "record_intent", "destination", "finish", "outcome"]
    assert r.engine.calls == [
        ("build", f"{LOCATION}/tags-hasher:v1", "TagsHasher"),
        ("tag", f"{LOCATION}/tags-hasher:v2"),
        ("push", f"{LOCATION}/tags-hasher:v1", ("user", result.secret)),
    ]
    assert r.engine.context_bytes > 0  # the folder was streamed to the engine
    # one engine push; the second tag is the same manifest, put by the registry API
    assert r.registry.get_manifest("tags-hasher", "v2") == r.registry.get_manifest("tags-hasher", "v1")
    assert result.digest == r.registry.get_manifest("tags-hasher", "v1").digest
    assert result.first_publish and result.name == "TagsHasher" and result.tags == ["v1", "v2"]
    assert result.image_references == [f"{LOCATION}/tags-hasher:v1", f"{LOCATION}/tags-hasher:v2"]
    assert result.warnings == ["from the backend"]
    # the new secret is what the check and the intent were authenticated with, and it is cached
    assert r.backend.secrets_seen == [result.secret, result.secret] and len(result.secret or "") >= 43
    assert r.secrets.get(LOCATION, "tags-hasher") == result.secret and result.secret_cache == str(r.secrets.path)


def test_a_refusal_at_the_check_comes_before_the_engine_is_even_asked_for(tmp_path):
    r = rig(tmp_path, refuse_check=errors.NameTakenError("taken"))
    with pytest.raises(errors.NameTakenError):
        r.flow().run(make_plan(tmp_path))
    assert r.backend.calls == ["check"]
    assert r.engine_connects == [] and r.engine.calls == []
    assert not r.secrets.path.exists()  # no secret cached for a NAME that was refused
    assert r.registry.writes == []


def test_an_update_authenticates_with_the_cached_secret_and_keeps_the_recorded_name(tmp_path):
    r = rig(tmp_path, recorded_name="Tagshasher")
    r.secrets.put(LOCATION, "tags-hasher", "cached-secret")
    result = r.flow().run(make_plan(tmp_path, is_update=True))
    assert r.backend.secrets_seen == ["cached-secret", "cached-secret"]
    assert result.name == "Tagshasher" and not result.first_publish and result.secret is None
    assert result.warnings[0] == "'TagsHasher' is executor 'Tagshasher' (repository tags-hasher); updating it under that name."
    assert r.engine.calls[0] == ("build", f"{LOCATION}/tags-hasher:latest", "Tagshasher")  # labels carry the recorded NAME


def test_a_given_secret_is_remembered_only_when_it_did_not_come_from_the_environment(tmp_path):
    remembered = rig(tmp_path / "a")
    remembered.flow().run(make_plan(tmp_path / "a", is_update=True, secret="given", remember_secret=True))
    assert remembered.secrets.get(LOCATION, "tags-hasher") == "given"
    from_env = rig(tmp_path / "b")
    from_env.flow().run(make_plan(tmp_path / "b", is_update=True, secret="from-env", remember_secret=False))
    assert from_env.secrets.get(LOCATION, "tags-hasher") is None


def test_a_failed_push_is_undone_and_a_first_publish_forgets_its_secret(tmp_path):
    r = rig(tmp_path, fail_push=errors.PushFailedError("Pushing failed."))
    with pytest.raises(errors.PushFailedError) as caught:
        r.flow().run(make_plan(tmp_path))
    assert r.backend.calls == ["check", "record_intent", "destination", "undo after []"]  # never finished
    assert caught.value.message == "Pushing failed. No tag was pushed and the test's metadata is back as it was."
    assert str(caught.value) == caught.value.message
    assert r.secrets.get(LOCATION, "tags-hasher") is None


def test_a_push_that_cannot_be_undone_keeps_the_name_reserved_for_this_machine(tmp_path):
    r = rig(tmp_path, fail_push=errors.PushFailedError("Pushing failed."), undo_result=Undo(restored=False))
    with pytest.raises(errors.PushFailedError) as caught:
        r.flow().run(make_plan(tmp_path))
    assert "The name 'TagsHasher' is reserved for you: retry with 'hubpush push --force-update TagsHasher PATH'" in caught.value.message
    assert r.secrets.get(LOCATION, "tags-hasher") is not None  # the only way to finish the publish


def test_a_second_tag_that_lands_elsewhere_fails_after_the_first_and_is_undone_with_what_was_pushed(tmp_path):
    r = rig(tmp_path)
    real_push = r.engine.push

    def push_then_race(repository, tag, on_log=None, *, credentials=None, on_wait=None):
        digest = real_push(repository, tag, on_log, credentials=credentials)
        r.registry.put_manifest("tags-hasher", tag, b"another client's image", "application/json")
        return digest

    r.engine.push = push_then_race  # type: ignore[method-assign]
    with pytest.raises(errors.PushFailedError, match="does not hold"):
        r.flow().run(make_plan(tmp_path, tags=["v1", "v2"]))
    assert r.backend.calls[-1] == "undo after ['v1']"
    assert r.registry.get_manifest("tags-hasher", "v2") is None


def test_the_backend_may_replace_the_failure_with_a_more_precise_error(tmp_path):
    lost = errors.ProtectedTagError("another push won the tag")
    r = rig(tmp_path, fail_push=errors.PushFailedError("Pushing failed."), undo_result=Undo(error=lost))
    with pytest.raises(errors.ProtectedTagError) as caught:
        r.flow().run(make_plan(tmp_path))
    assert caught.value is lost and caught.value.message == "another push won the tag"


def test_a_failure_that_explains_itself_is_left_alone(tmp_path):
    r = rig(tmp_path, fail_push=errors.ConcurrentPushError("Another push claimed it."), undo_result=Undo(explain=False))
    with pytest.raises(errors.ConcurrentPushError) as caught:
        r.flow().run(make_plan(tmp_path))
    assert caught.value.message == "Another push claimed it."


@pytest.mark.parametrize("atomic, kept", [(True, False), (False, True)])
def test_a_refused_intent_forgets_a_new_secret_only_when_the_backend_wrote_nothing(tmp_path, atomic, kept):
    r = rig(tmp_path, refuse_intent=errors.NameTakenError("taken meanwhile"), intent_is_atomic=atomic)
    with pytest.raises(errors.NameTakenError):
        r.flow().run(make_plan(tmp_path))
    assert r.backend.calls == ["check", "record_intent"]
    assert [call[0] for call in r.engine.calls] == ["build"]  # built, but no tag moved
    assert (r.secrets.get(LOCATION, "tags-hasher") is not None) is kept


def test_an_update_that_cannot_be_undone_says_its_intent_stays_and_what_finishes_the_job(tmp_path):
    undo = Undo(restored=False, why_not="The registry behind the hub does not answer.")
    r = rig(tmp_path, fail_push=errors.PushFailedError("Pushing failed."), undo_result=undo, recorded_name="TagsHasher")
    r.secrets.put(LOCATION, "tags-hasher", "cached-secret")
    with pytest.raises(errors.PushFailedError) as caught:
        r.flow().run(make_plan(tmp_path, is_update=True, protected_tags=["v1"]))
    message = caught.value.message
    assert "Undoing the recorded intent failed too: The registry behind the hub does not answer." in message
    assert "intent stays recorded in the test's metadata (protected tags v1)" in message
    assert "run the same push again" in message and "hubpush hub check" in message


@pytest.mark.parametrize("inside", ["executor/hubpush-cache", "executor"])
def test_the_secret_cache_never_enters_the_build_context_even_inside_the_folder(tmp_path, inside):
    """HUBPUSH_CONFIG_DIR inside the executor folder, or the folder itself (found by tests/integration/test_secrets.py)."""
    plan = make_plan(tmp_path, is_update=True, secret="s" * 43)
    r = rig(tmp_path, config_dir=tmp_path / inside)
    r.secrets.put(LOCATION, "tags-hasher", "s" * 43)
    r.flow().run(plan)
    assert "config.yml" in r.engine.context_names  # the folder itself was sent
    assert not any("secrets.json" in name or "hubpush-cache" in name for name in r.engine.context_names), r.engine.context_names
