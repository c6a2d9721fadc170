"""Pure parts of the gateway: which repository a request touches, what it needs, tokens."""

from __future__ import annotations

import pytest

from hubpush.gateway.access import PULL, PUSH, Kind, Scope, Target, parse_scopes, parse_target, required_action
from hubpush.gateway.tokens import TokenSigner

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v2/", Target(Kind.BASE)),
        ("/v2", Target(Kind.BASE)),
        ("/v2/_catalog", Target(Kind.CATALOG)),
        ("/v2/hello/manifests/latest", Target(Kind.MANIFEST, "hello", "latest")),
        (f"/v2/team/ml/hello/manifests/{DIGEST}", Target(Kind.MANIFEST, "team/ml/hello", DIGEST)),
        (f"/v2/hello/blobs/{DIGEST}", Target(Kind.BLOB, "hello", DIGEST)),
        ("/v2/hello/blobs/uploads/", Target(Kind.UPLOAD, "hello", "")),
        ("/v2/hello/blobs/uploads/5f1c-uuid", Target(Kind.UPLOAD, "hello", "5f1c-uuid")),
        ("/v2/hello/tags/list", Target(Kind.TAGS, "hello")),
        (f"/v2/hello/referrers/{DIGEST}", Target(Kind.REFERRERS, "hello", DIGEST)),
        # a repository path may hold "manifests" or "blobs": as in the registry, the last marker decides
        ("/v2/blobs/manifests/latest", Target(Kind.MANIFEST, "blobs", "latest")),
        ("/v2/pub/blobs/x/manifests/latest", Target(Kind.MANIFEST, "pub/blobs/x", "latest")),
        ("/v2/pub/manifests/x/blobs/uploads/", Target(Kind.UPLOAD, "pub/manifests/x", "")),
        ("/v2/a/manifests/manifests", Target(Kind.MANIFEST, "a", "manifests")),
        ("/v2/a/tags/list/manifests/v1", Target(Kind.MANIFEST, "a/tags/list", "v1")),
        ("/v2/hello/blobs/uploads", Target(Kind.UPLOAD, "hello", "")),
        ("/v2/hubpush-meta/hello/manifests/current", Target(Kind.MANIFEST, "hubpush-meta/hello", "current")),
    ],
)
def test_paths_are_parsed_into_what_they_touch(path, expected):
    assert parse_target(path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/v2/Hello/manifests/latest",
        "/v2/../x/manifests/latest",
        "/v2/hello/manifests/",
        "/v2/hello/unknown/x",
        "/hello",
        "/v2/hello/tags/other",
        "/v2/hello/blobs/uploads/id/more",
    ],
)
def test_paths_outside_the_api_or_with_invalid_names_are_not_parsed(path):
    assert parse_target(path) is None


def test_tags_and_digests_are_told_apart():
    assert Target(Kind.MANIFEST, "x", "v1.0").is_tag
    assert not Target(Kind.MANIFEST, "x", DIGEST).is_tag
    assert not Target(Kind.BLOB, "x", "v1").is_tag


@pytest.mark.parametrize(
    ("kind", "method", "action"),
    [
        (Kind.MANIFEST, "GET", PULL),
        (Kind.MANIFEST, "HEAD", PULL),
        (Kind.BLOB, "GET", PULL),
        (Kind.TAGS, "GET", PULL),
        (Kind.MANIFEST, "PUT", PUSH),
        (Kind.UPLOAD, "POST", PUSH),
        (Kind.UPLOAD, "PATCH", PUSH),
        (Kind.UPLOAD, "PUT", PUSH),
        (Kind.UPLOAD, "GET", PUSH),  # an upload's status belongs to whoever pushes
        (Kind.UPLOAD, "DELETE", PUSH),  # cancelling one's own upload
        (Kind.MANIFEST, "DELETE", None),  # would drop protected tags
        (Kind.BLOB, "DELETE", None),
        (Kind.BLOB, "PUT", None),
        (Kind.TAGS, "POST", None),
    ],
)
def test_each_request_needs_exactly_one_permission_or_is_never_allowed(kind, method, action):
    assert required_action(Target(kind, "x", "ref"), method) == action


def test_scopes_keep_repository_actions_only():
    assert parse_scopes(["repository:team/hello:pull,push", "registry:catalog:*"]) == [
        Scope("team/hello", frozenset({PULL, PUSH}))
    ]
    assert parse_scopes(["repository:a:pull repository:b:delete,pull"]) == [
        Scope("a", frozenset({PULL})),
        Scope("b", frozenset({PULL})),
    ]
    assert parse_scopes(["repository:a:*"]) == [Scope("a", frozenset({"*"}))]
    assert parse_scopes([]) == []


def test_tokens_carry_the_grant_and_reject_tampering_other_keys_and_expiry():
    signer = TokenSigner(b"k" * 32, ttl=300)
    token = signer.issue("hello", {"hello": frozenset({PULL, PUSH}), "public": frozenset({PULL})}, now=1000)
    grant = signer.verify(token, now=1100)
    assert grant is not None and grant.subject == "hello"
    assert grant.allows("hello", PUSH) and grant.allows("public", PULL)
    assert not grant.allows("public", PUSH) and not grant.allows("other", PULL)

    assert signer.verify(token, now=1301) is None  # expired
    assert TokenSigner(b"x" * 32).verify(token, now=1100) is None  # another hub's key
    payload, mac = token.split(".")
    forged = TokenSigner(b"x" * 32).issue("hello", {"victim": frozenset({PUSH})}, now=1000).split(".")[0]
    assert signer.verify(f"{forged}.{mac}", now=1100) is None
    assert signer.verify(payload, now=1100) is None
    assert signer.verify("not a token", now=1100) is None


def test_token_keys_must_not_be_trivially_short():
    with pytest.raises(ValueError):
        TokenSigner(b"short")


# --- found by the security review: each of these once got past the checks ------------------
@pytest.mark.parametrize(
    "path",
    [
        "/v2/x/manifests/1.0#x",  # yarl would cut "#x" off on the way upstream: PUT 1.0 checked as "1.0#x"
        "/v2/x/manifests/1.0;x",
        "/v2/x/manifests/.hidden",
        "/v2/x/blobs/latest",  # blobs are addressed by digest only
        f"/v2/x/referrers/{'v1'}",
        "/v2/x/blobs/uploads/id;x",
        "/v2/" + "a" * 256 + "/manifests/latest",  # longer than distribution allows
    ],
)
def test_references_are_exactly_tags_or_digests(path):
    assert parse_target(path) is None


def test_hostile_repository_names_are_refused_in_linear_time():
    # distribution's "[-]*" separator made Python's re backtrack exponentially: 31 characters took 53 s
    hostile = "a" * 5000 + "A"
    assert parse_target(f"/v2/{hostile}/manifests/latest") is None
    assert parse_scopes([f"repository:{hostile}:pull"]) == []


def test_scopes_with_invalid_repository_names_are_ignored():
    assert parse_scopes(["repository:Upper/x:pull", "repository:ok/x:pull"]) == [Scope("ok/x", frozenset({PULL}))]


def test_tokens_with_non_ascii_bytes_are_just_invalid():
    signer = TokenSigner(b"k" * 32)
    assert signer.verify("abc.é") is None
    assert signer.verify("é.abc") is None
    assert not signer.check("text", "é")
