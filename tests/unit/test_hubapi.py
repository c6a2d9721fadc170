"""The hub API contract: the wire format the gateway parses, and strict readers for both sides."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubpush import errors
from hubpush.core.metadata import ExecutorMetadata, Visibility
from hubpush.hubapi import (
    INFO_PATH,
    SERVICE,
    ExecutorListing,
    HubInfo,
    ListedExecutor,
    ListingPage,
    PushAnswer,
    PushCheck,
    RestorePoint,
    abort_path,
    decode_body,
    executor_path,
    portal_path,
    push_path,
)
from hubpush.hubapi_client import HubApiClient
from hubpush.oci.client import RegistryClient


INTENT = "sha256:" + "1" * 64


def test_paths_and_service_name():
    assert INFO_PATH == "/hubpush/v1/info" and SERVICE == "hubpush-gateway"
    assert executor_path("team/hello") == "/hubpush/v1/executors/team/hello"
    assert push_path("hello") == "/hubpush/v1/executors/hello/push"
    assert abort_path("hello") == "/hubpush/v1/executors/hello/abort"
    assert portal_path("team/hello") == "/executors/team/hello"


def test_the_portal_url_is_the_gateway_as_the_cli_reached_it():
    info = HubInfo(SERVICE, "0", False)
    assert HubApiClient(RegistryClient("localhost:5000"), info).portal_url("hello") == "http://localhost:5000/executors/hello"
    in_namespace = HubApiClient(RegistryClient("https://hub.example/team"), info)
    assert in_namespace.portal_url("hello") == "https://hub.example/executors/team/hello"
    assert in_namespace.portal_url() == "https://hub.example/"


def test_a_listed_executor_is_made_from_its_metadata_and_round_trips():
    metadata = ExecutorMetadata("Hello", "hello", Visibility.PUBLIC, "scrypt$...", "t0", "t0", protected_tags=["1.0"], keywords=["nlp"])
    metadata.record_push(["1.0"], "sha256:a", "t1")
    metadata.record_push(["latest"], "sha256:b", "t2")
    listed = ListedExecutor.of("team/hello", metadata, image="r:5000/team/hello", size=12)
    assert listed.last_push == "t2" and [t["tag"] for t in listed.tags] == ["latest", "1.0"] and listed.tags[1]["protected"]
    assert listed.repository == "team/hello" and listed.keywords == ["nlp"] and listed.portal_url == ""
    page = ListingPage([listed], 1, 1, 1, "name", "")
    assert ListingPage.from_json(json.loads(json.dumps(page.to_json()))) == page


def test_the_push_check_is_sent_byte_for_byte_as_before():
    check = PushCheck("Hello", False, ["v1"], ["1.0"], Visibility.PRIVATE, "says hello", True)
    assert json.dumps(check.to_json()) == (
        '{"name": "Hello", "is_update": false, "tags": ["v1"], "protected_tags": ["1.0"], '
        '"visibility": "private", "description": "says hello", "dry_run": true}'
    )
    assert PushCheck.from_json(json.loads(json.dumps(check.to_json()))) == check
    no_flag = PushCheck("Hello", True, [], [], None, "", False)
    assert no_flag.to_json()["visibility"] is None and PushCheck.from_json(no_flag.to_json()) == no_flag


@pytest.mark.parametrize(
    "change, says",
    [
        ({"tags": "v1"}, "'tags' must be a list"),
        ({"tags": ["v1", 2]}, "'tags' must be a list of strings"),
        ({"is_update": "no"}, "'is_update' must be a boolean"),
        ({"is_update": None}, "'is_update' must be a boolean"),
        ({"name": 7}, "'name' must be a string"),
        ({"visibility": "secret"}, "'visibility' must be 'public' or 'private'"),
        ({"dry_run": 1}, "'dry_run' must be a boolean"),
        ({"name": "A" * 65}, "'name' must be at most 64 characters"),
        ({"tags": ["v" * 129]}, "'tags' must be at most 128 characters"),
        ({"protected_tags": ["v" * 129]}, "'protected_tags' must be at most 128 characters"),
        ({"description": {"nested": "object"}}, "'description' must be a string"),
        ({"readme_truncated": "yes"}, "'readme_truncated' must be a boolean"),
        ({"keywords": "ai"}, "'keywords' must be a list"),
        ({"visibility": 1}, "'visibility' must be a string"),
    ],
)
def test_a_push_check_that_breaks_the_contract_is_refused(change, says):
    body = {**PushCheck("Hello", False, [], [], None, "", False).to_json(), **change}
    with pytest.raises(errors.MalformedMessageError, match=says):
        PushCheck.from_json(body)


def test_a_push_check_must_be_an_object():
    with pytest.raises(errors.MalformedMessageError, match="JSON object"):
        PushCheck.from_json(["name"])


def test_the_answer_and_its_restore_point_round_trip_and_are_read_strictly():
    answer = PushAnswer(True, "Hello", ["latest"], [], Visibility.PUBLIC, RestorePoint(None, INTENT, "sig"))
    wire = json.loads(json.dumps(answer.to_json()))
    assert wire["restore"] == {"previous": None, "intent": INTENT, "signature": "sig"}
    assert PushAnswer.from_json(wire) == answer
    dry = {**wire, "restore": None}
    assert PushAnswer.from_json(dry).restore is None
    with pytest.raises(errors.MalformedMessageError, match="'first_publish' must be a boolean"):
        PushAnswer.from_json({**wire, "first_publish": "yes"})
    with pytest.raises(errors.MalformedMessageError, match="'intent' must be a string"):
        PushAnswer.from_json({**wire, "restore": {"previous": None, "signature": "sig"}})


def test_info_tells_a_gateway_from_anything_else():
    assert HubInfo.from_json({"service": SERVICE, "version": "0.1.0", "publisher_token_required": True}) == HubInfo(SERVICE, "0.1.0", True)
    assert HubInfo.from_json({"service": "other"}) is None and HubInfo.from_json([]) is None


def test_the_executor_listing_never_carries_the_secret_hash():
    metadata = ExecutorMetadata("Hello", "hello", Visibility.PUBLIC, "scrypt$...", "t0", "t1", protected_tags=["1.0"])
    wire = ExecutorListing(metadata, ["b", "a"]).to_json()
    assert "secret_hash" not in wire and wire["registry_tags"] == ["a", "b"]
    back = ExecutorListing.from_json(wire, where="hub/hello")
    assert back.metadata.secret_hash == "" and back.metadata.protected_tags == ["1.0"] and back.registry_tags == ["a", "b"]
    with pytest.raises(errors.MetadataCorruptError, match="hub/hello"):
        ExecutorListing.from_json({"name": "Hello"}, where="hub/hello")


@pytest.mark.parametrize("change", [{"description": "hi \ud800"}, {"keywords": ["ok", "\udfff"]}, {"readme": "# \ud800"}])
def test_text_that_cannot_be_utf8_is_refused(change):
    body = {**PushCheck("Hello", False, [], [], None, "", False).to_json(), **change}
    with pytest.raises(errors.MalformedMessageError, match="not valid UTF-8 text"):
        PushCheck.from_json(body)


@pytest.mark.parametrize(
    "change, says",
    [
        ({"intent": "latest"}, "'intent' must be a digest"),
        ({"previous": "sha256:abc"}, "'previous' must be a digest"),
        ({"previous": 1}, "'previous' must be a string or null"),
        ({"signature": "s" * 129}, "'signature' must be at most 128 characters"),
        ({"signature": None}, "'signature' must be a string"),
    ],
)
def test_a_restore_point_names_only_digests_and_a_bounded_signature(change, says):
    body = {**RestorePoint(INTENT, INTENT, "sig").to_json(), **change}
    with pytest.raises(errors.MalformedMessageError, match=says):
        RestorePoint.from_json(body)


@pytest.mark.parametrize(
    "raw, says",
    [
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b"[" * 100_000, "nests deeper"),
        (b"{", "not valid JSON"),
        (b'{"n": NaN}', "NaN is not a JSON value"),
        (b'{"n": ' + b"9" * 5000 + b"}", "a number is too long"),
        (b"[]", "must be a JSON object"),
        (b"", "not valid JSON"),
    ],
)
def test_a_body_that_is_no_json_object_is_refused_with_why_and_without_echoing_it(raw, says):
    with pytest.raises(errors.MalformedMessageError, match=says) as caught:
        decode_body(raw)
    assert len(caught.value.message) < 200


# any JSON value in any field: the parser answers with the object or a sentence naming that field, nothing else
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=200),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
PUSH_FIELDS = list(PushCheck("Hello", False, [], [], None, "", False, ["k"], "# r", False).to_json())
RESTORE_FIELDS = ["previous", "intent", "signature"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PUSH_FIELDS), JSON_VALUES)
def test_any_value_of_a_push_check_field_is_read_or_refused_naming_that_field(key, value):
    body = {**PushCheck("Hello", False, [], [], None, "", False).to_json(), key: value}
    try:
        PushCheck.from_json(body)
    except errors.MalformedMessageError as exc:
        assert f"{key!r}" in exc.message and len(exc.message) < 200, exc.message


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(RESTORE_FIELDS), JSON_VALUES)
def test_any_value_of_a_restore_point_field_is_read_or_refused_naming_that_field(key, value):
    try:
        RestorePoint.from_json({**RestorePoint(INTENT, INTENT, "sig").to_json(), key: value})
    except errors.MalformedMessageError as exc:
        assert f"{key!r}" in exc.message, exc.message
