"""The pure rules: names, tags, visibility, who may push what."""

import pytest

from hubpush import errors
from hubpush.config import visibility_from_flags
from hubpush.core.metadata import ExecutorMetadata, TagRecord, Visibility
from hubpush.core.names import is_metadata_path, metadata_repository, repository_for, repository_for_username, validate_name, validate_tag
from hubpush.core.policy import PushRequest, check_tag_write, decide_push, locked_tags, may_pull, requested_tags
from hubpush.core.policy import readable_with as may_read
from hubpush.core.secrets import hash_secret

SECRET = "s3cret-for-tests-only"
HASH = hash_secret(SECRET)


def meta(**overrides):
    values = dict(
        name="TagsHasher", repository="tags-hasher", visibility=Visibility.PUBLIC, secret_hash=HASH,
        created_at="t0", updated_at="t0",
    )  # fmt: skip
    values.update(overrides)
    return ExecutorMetadata(**values)


def request(**overrides):
    values = dict(name="TagsHasher", is_update=True, secret=SECRET, tags=[], protected_tags=[], visibility=None)
    values.update(overrides)
    return PushRequest(**values)


@pytest.mark.parametrize(
    "name, repository",
    [
        ("TagsHasher", "tags-hasher"),
        ("HelloExecutor", "hello-executor"),
        ("HTTPClient2", "http-client2"),
        ("my_exec", "my-exec"),
        ("already-lower", "already-lower"),
        ("Simple", "simple"),
        ("CLIPEncoder", "clip-encoder"),
        ("v2.Encoder", "v2-encoder"),
    ],
)
def test_repository_for_maps_names_predictably(name, repository):
    assert repository_for(name) == repository


@pytest.mark.parametrize("name", ["", "-lead", "trail-", "has space", "slash/name", "x" * 65, "ünï", "Name\n"])
def test_invalid_names_are_refused(name):
    with pytest.raises(errors.InvalidExecutorNameError):
        validate_name(name)


def test_metadata_namespace_is_reserved():
    with pytest.raises(errors.InvalidExecutorNameError):
        repository_for("HubpushMeta")
    assert metadata_repository("tags-hasher") == "hubpush-meta/tags-hasher"


@pytest.mark.parametrize("tag", ["latest", "v1", "1.0.0", "_x", "A-b_c.d", "x" * 128])
def test_valid_tags(tag):
    assert validate_tag(tag) == tag


@pytest.mark.parametrize("tag", ["", ".v1", "-v1", "v 1", "v/1", "x" * 129, "tag:1", "v1\n", "[/b]"])
def test_invalid_tags(tag):
    with pytest.raises(errors.InvalidTagError):
        validate_tag(tag)


def test_requested_tags_default_latest_only_when_none_named():
    assert requested_tags([], []) == ["latest"]
    assert requested_tags(["v1", "v2"], []) == ["v1", "v2"]
    assert requested_tags(["v1"], ["stable", "v1"]) == ["v1", "stable"]
    assert requested_tags([], ["1.0"]) == ["1.0"]


def test_visibility_flags():
    assert visibility_from_flags(False, False) is None
    assert visibility_from_flags(True, False) is Visibility.PUBLIC
    assert visibility_from_flags(False, True) is Visibility.PRIVATE
    with pytest.raises(errors.ConflictingFlagsError):
        visibility_from_flags(True, True)


def test_first_publish_is_public_by_default():
    decision = decide_push(request(is_update=False, secret=None), None, None, registry="r")
    assert decision.is_first_publish and decision.visibility is Visibility.PUBLIC and decision.tags == ["latest"]


def test_first_publish_private():
    decision = decide_push(request(is_update=False, visibility=Visibility.PRIVATE), None, None, registry="r")
    assert decision.visibility is Visibility.PRIVATE


def test_first_publish_of_existing_name_is_refused_with_update_hint():
    with pytest.raises(errors.NameTakenError, match="--force-update TagsHasher"):
        decide_push(request(is_update=False), meta(), ["latest"], registry="r")


def test_first_publish_over_foreign_repository_is_refused():
    with pytest.raises(errors.NameTakenError, match="not published by hubpush"):
        decide_push(request(is_update=False), None, ["latest"], registry="r")


def test_update_of_unknown_name():
    with pytest.raises(errors.ExecutorNotFoundError):
        decide_push(request(), None, None, registry="r")


def test_update_needs_a_secret():
    with pytest.raises(errors.SecretRequiredError):
        decide_push(request(secret=None), meta(), ["latest"], registry="r")


def test_update_with_wrong_secret_is_refused():
    with pytest.raises(errors.WrongSecretError) as caught:
        decide_push(request(secret="wrong"), meta(), ["latest"], registry="r")
    assert "wrong" not in caught.value.message.replace("is wrong", "")  # the given secret is never echoed


def test_update_keeps_visibility_unless_a_flag_is_given():
    private = meta(visibility=Visibility.PRIVATE)
    assert decide_push(request(), private, [], registry="r").visibility is Visibility.PRIVATE
    assert decide_push(request(visibility=Visibility.PUBLIC), private, [], registry="r").visibility is Visibility.PUBLIC


def test_protected_tag_that_exists_is_locked_and_named():
    current = meta(protected_tags=["v1"], tags={"v1": TagRecord("sha256:a", "t")})
    with pytest.raises(errors.ProtectedTagError, match="'v1'"):
        decide_push(request(tags=["v2", "v1"]), current, ["v1"], registry="r")
    with pytest.raises(errors.ProtectedTagError):
        decide_push(request(protected_tags=["v1"]), current, ["v1"], registry="r")


def test_protected_tag_in_registry_but_not_in_metadata_is_still_locked():
    # the final metadata write of an earlier push failed: the registry's tag list decides
    current = meta(protected_tags=["v1"])
    assert locked_tags(["v1"], current, ["v1"]) == ["v1"]


def test_protected_tag_recorded_but_never_pushed_can_be_retried():
    current = meta(protected_tags=["v1"])
    decision = decide_push(request(protected_tags=["v1"]), current, [], registry="r")
    assert decision.tags == ["v1"]


def test_protected_tags_accumulate():
    current = meta(protected_tags=["v1"], tags={"v1": TagRecord("sha256:a", "t")})
    decision = decide_push(request(protected_tags=["v2"], tags=["latest"]), current, ["v1"], registry="r")
    assert decision.protected_tags == ["v1", "v2"]
    assert decision.tags == ["latest", "v2"]


def test_may_read():
    assert may_read(meta(), None)
    private = meta(visibility=Visibility.PRIVATE)
    assert not may_read(private, None)
    assert not may_read(private, "wrong")
    assert may_read(private, SECRET)


def test_platform_normalization():
    from hubpush.engine import normalize_platform

    assert normalize_platform("linux/arm64/v8") == normalize_platform("linux/arm64") == "linux/arm64"
    assert normalize_platform("linux/x86_64") == "linux/amd64"
    assert normalize_platform("linux/arm/v7") != normalize_platform("linux/arm/v6")


@pytest.mark.parametrize("reference", ["jinaai/jina:latest", "busybox", "localhost:5000/a/b:1.0", "r.io/x@sha256:" + "a" * 64, "hubpush/busybox:other-base"])
def test_valid_base_images(reference):
    from hubpush.core.names import validate_image_reference

    assert validate_image_reference(reference) == reference


@pytest.mark.parametrize("reference", ["", "Upper/Case", "a b", "jina\nRUN rm -rf /", "x:tag:tag", "-lead"])
def test_invalid_base_images(reference):
    from hubpush.core.names import validate_image_reference

    with pytest.raises(errors.InvalidBaseImageError):
        validate_image_reference(reference)


# --- rules the gateway applies to every request ----------------------------------------
def test_check_tag_write_refuses_an_existing_protected_tag_only():
    pushed = meta(protected_tags=["v1"], tags={"v1": TagRecord("sha256:" + "1" * 64, "2026-01-01T00:00:00Z")})
    with pytest.raises(errors.ProtectedTagError, match="'v1'"):
        check_tag_write(pushed, "v1", tag_exists=True)
    with pytest.raises(errors.ProtectedTagError):
        check_tag_write(pushed, "v1", tag_exists=False)  # recorded in the metadata is enough
    check_tag_write(pushed, "v2", tag_exists=True)  # not protected
    fresh = meta(protected_tags=["v3"])
    check_tag_write(fresh, "v3", tag_exists=False)  # protected but not pushed yet: the first push goes through
    with pytest.raises(errors.ProtectedTagError):
        check_tag_write(fresh, "v3", tag_exists=True)  # ... and only the first


def test_may_pull_public_always_private_only_when_proven():
    assert may_pull(meta(visibility=Visibility.PUBLIC), proven=False)
    assert not may_pull(meta(visibility=Visibility.PRIVATE), proven=False)
    assert may_pull(meta(visibility=Visibility.PRIVATE), proven=True)


@pytest.mark.parametrize(
    ("username", "repository"),
    [
        ("HelloExecutor", "hello-executor"),
        ("hello-executor", "hello-executor"),
        ("team/ml/TagsHasher", "team/ml/tags-hasher"),
        ("Bad Name", None),
        ("", None),
        ("Team/Hello", None),  # namespaces are lower-case paths
        ("hubpush-meta/Hello", None),
        ("HubpushMeta", None),  # the metadata namespace is no executor
    ],
)
def test_registry_usernames_map_to_repositories_like_names_do(username, repository):
    assert repository_for_username(username) == repository


def test_metadata_paths_are_recognised_at_any_depth():
    assert is_metadata_path("hubpush-meta/x") and is_metadata_path("team/hubpush-meta/x")
    assert not is_metadata_path("hubpush-metadata/x") and not is_metadata_path("x")


def test_an_executor_with_the_most_tags_takes_no_new_one_but_moves_existing_ones():
    import pytest as _pytest

    from hubpush.core.metadata import MAX_TAGS_PER_EXECUTOR, ExecutorMetadata, TagRecord, Visibility
    from hubpush.core.policy import check_tag_write
    from hubpush.errors import InvalidTagError

    metadata = ExecutorMetadata("A", "a", Visibility.PUBLIC, "h", "t", "t")
    metadata.tags = {f"t{n}": TagRecord("sha256:" + "0" * 64, "t") for n in range(MAX_TAGS_PER_EXECUTOR)}
    check_tag_write(metadata, "t5", tag_exists=True)
    with _pytest.raises(InvalidTagError, match="the most the hub keeps"):
        check_tag_write(metadata, "new", tag_exists=False)
