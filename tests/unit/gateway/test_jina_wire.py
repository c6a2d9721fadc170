"""The Jina Hub API's shapes (pure): what the push form and getPackage accept, and the lines sent back."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubpush.core.metadata import Visibility
from hubpush.errors import BuildFailedError, MalformedMessageError
from hubpush.gateway import jina_wire as wire

MD5 = "0" * 32


def form(**fields: str) -> dict[str, str]:
    return {"public": "False", "private": "False", "md5sum": MD5, "id": "MyExec", **fields}


def test_a_form_as_jina_sends_it():
    read = wire.PushForm.from_fields(
        form(private="True", tags="v1, v2,", immutableTags="v1", buildEnv='{"TOKEN": "x"}', dockerfile="Dockerfile.gpu",
             platform="linux/amd64", buildWithNoCache="True", verbose="True", id="Other", secret="s" * 43),
        is_update=True,
    )  # fmt: skip
    assert read.name == "Other" and read.secret == "s" * 43 and read.visibility is Visibility.PRIVATE
    assert read.tags == ["v1", "v2"] and read.protected_tags == ["v1"] and read.build_env == ["TOKEN=x"]
    assert read.dockerfile == "Dockerfile.gpu" and read.platform == "linux/amd64" and read.no_cache and read.verbose


def test_neither_flag_keeps_the_visibility_and_a_plain_push_drops_any_secret():
    read = wire.PushForm.from_fields(form(secret="ignored"), is_update=False)
    assert read.visibility is None and read.secret is None and read.tags == []


@pytest.mark.parametrize(
    ("fields", "is_update", "needle"),
    [
        ({"public": "True", "private": "True"}, False, "--private"),
        ({"public": "yes"}, False, "'public'"),
        ({"id": ""}, False, "'id'"),
        ({}, True, "'secret'"),
        ({"md5sum": "xyz"}, False, "md5sum"),
        ({"buildEnv": "{"}, False, "buildEnv"),
        ({"buildEnv": '{"A": 1}'}, False, "buildEnv"),
        ({"extra": "1"}, False, "'extra'"),
    ],
)
def test_forms_that_break_the_shape_are_refused_by_field(fields, is_update, needle):
    with pytest.raises(MalformedMessageError, match=needle.replace("-", r"\-")):
        wire.PushForm.from_fields(form(**fields), is_update=is_update)


@given(st.dictionaries(st.sampled_from(sorted(wire.PUSH_FIELDS | {"other"})), st.text(max_size=40), max_size=14), st.booleans())
def test_any_form_is_read_or_refused_with_a_sentence(fields, is_update):
    try:
        wire.PushForm.from_fields(fields, is_update=is_update)
    except MalformedMessageError as exc:
        assert exc.message.endswith(".")


@given(st.one_of(st.none(), st.integers(), st.text(), st.lists(st.text()), st.dictionaries(st.text(), st.one_of(st.none(), st.text(), st.integers(), st.lists(st.integers())))))
def test_any_get_package_body_is_read_or_refused_with_a_sentence(body):
    try:
        query = wire.PackageQuery.from_json(body)
    except MalformedMessageError:
        return
    assert isinstance(query.name, str) and query.name


def test_get_package_wants_an_image_only_when_docker_is_included():
    assert wire.PackageQuery.from_json({"id": "A", "include": ["code", "docker"], "tag": "v1"}).wants_image
    assert not wire.PackageQuery.from_json({"id": "A", "include": ["code"]}).wants_image


def test_lines_are_one_json_object_each_and_errors_carry_the_readable_message():
    error = BuildFailedError("Step 2/2 failed.", detail="exit 3")
    lines = [wire.progress_line("Building"), wire.console_line("Step 1/2 : FROM x"), wire.error_line(error)]
    encoded = b"".join(wire.ndjson(line) for line in lines)
    assert [json.loads(line) for line in encoded.splitlines()] == lines and b"\n\n" not in encoded
    assert lines[-1]["payload"]["readableMessage"] == "Step 2/2 failed.\nexit 3"
    assert "status" not in lines[-1]["payload"]  # the SDK would look it up in its own table


def test_the_payload_has_a_secret_only_when_given():
    payload = wire.executor_payload(name="A", visibility=Visibility.PUBLIC, tags=["latest"], digest="sha256:" + "a" * 64, secret=None)
    assert "secret" not in payload and payload["commit"] == {"id": "a" * 64, "tags": ["latest"]}


@pytest.mark.parametrize(("value", "simple"), [("bytes=0-", True), ("bytes=10-20", True), ("bytes=0-1,5-6", False), ("bytes=-5", False), ("items=0-1", False)])
def test_only_plain_resume_ranges_are_forwarded(value, simple):
    assert wire.is_simple_range(value) is simple
