"""The hub API contract: the wire format the gateway parses, and strict readers for both sides."""

from __future__ import annotations

import json

import pytest

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
    executor_path,
    portal_path,
    push_path,
)
from hubpush.hubapi_client import HubApiClient
from hubpush.oci.client import RegistryClient


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
    answer = PushAnswer(True, "Hello", ["latest"], [], Visibility.PUBLIC, RestorePoint(None, "sha256:i", "sig"))
    wire = json.loads(json.dumps(answer.to_json()))
    assert wire["restore"] == {"previous": None, "intent": "sha256:i", "signature": "sig"}
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
