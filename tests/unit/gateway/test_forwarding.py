"""The upstream request planner: what the registry may be sent, for every kind of request."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubpush.gateway.access import Kind, Target, parse_target
from hubpush.gateway.forwarding import MANIFEST_MEDIA_TYPES, OCTET_STREAM, Incoming, NotUnderstood, plan

DIGEST = "sha256:" + "ab" * 32
UPLOAD_START = Target(Kind.UPLOAD, "team/app", "")
UPLOAD = Target(Kind.UPLOAD, "team/app", "0f1e2d3c-aaaa-bbbb-cccc-123456789abc")


def incoming(method: str, target: Target, query: str = "", headers: list[tuple[str, str]] | None = None) -> Incoming:
    raw = tuple((name.encode(), value.encode("utf-8")) for name, value in headers or [])
    return Incoming(method, target, query, raw)


def refused(method: str, target: Target, query: str = "", headers: list[tuple[str, str]] | None = None) -> NotUnderstood:
    with pytest.raises(NotUnderstood) as caught:
        plan(incoming(method, target, query, headers))
    return caught.value


# --- upload starts -----------------------------------------------------------------------
def test_an_empty_upload_start_is_forwarded_with_no_body_and_no_client_headers():
    upstream = plan(incoming("POST", UPLOAD_START, headers=[("User-Agent", "docker/28"), ("Cookie", "a=b"), ("X-Forwarded-Host", "evil")]))
    assert upstream.path == "/v2/team/app/blobs/uploads/"
    assert upstream.headers == (("Content-Length", "0"),)
    assert not upstream.has_body


def test_a_mount_is_rebuilt_from_its_parsed_values():
    upstream = plan(incoming("POST", UPLOAD_START, f"mount={DIGEST.replace(':', '%3A')}&from=team%2Fother"))
    assert upstream.query == (("mount", DIGEST), ("from", "team/other"))
    assert upstream.path_and_query == f"/v2/team/app/blobs/uploads/?mount={DIGEST.replace(':', '%3A')}&from=team%2Fother"


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "applİcation/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", "application/octet-stream; x=y"],
)
def test_upload_bodies_with_any_content_type_but_octet_stream_are_refused(content_type):
    error = refused("POST", UPLOAD_START, f"digest={DIGEST}", [("Content-Type", content_type), ("Content-Length", "3")])
    assert error.status in (400, 415)


def test_a_monolithic_upload_is_forwarded_as_an_octet_stream_of_the_clients_length():
    upstream = plan(incoming("POST", UPLOAD_START, f"digest={DIGEST}", [("Content-Length", "3")]))
    assert upstream.has_body
    assert dict(upstream.headers) == {"Content-Type": OCTET_STREAM, "Content-Length": "3"}


def test_a_body_on_an_upload_start_without_a_digest_is_refused():
    assert refused("POST", UPLOAD_START, headers=[("Content-Length", "5")]).status == 400
    assert refused("POST", UPLOAD_START, headers=[("Transfer-Encoding", "chunked")]).status == 400


def test_a_chunked_patch_keeps_its_body_and_gets_no_length():
    upstream = plan(incoming("PATCH", UPLOAD, "_state=abc_-%3D", [("Transfer-Encoding", "chunked"), ("Content-Type", OCTET_STREAM)]))
    assert upstream.has_body and upstream.query == (("_state", "abc_-="),)
    assert dict(upstream.headers) == {"Content-Type": OCTET_STREAM}


@pytest.mark.parametrize(
    ("query", "why"),
    [
        (f"mount={DIGEST}&mount={DIGEST}&from=a", "more than once"),
        (f"mount={DIGEST};from=a", "plain key=value"),
        (f"mount={DIGEST}&from=a%", "plain key=value"),
        (f"mount={DIGEST}&from=a%zz", "plain key=value"),
        (f"mount={DIGEST}", "both mount= and from="),
        ("from=a", "both mount= and from="),
        (f"mount={DIGEST}&from=hubpush-meta/a", "from= must name"),
        (f"mount={DIGEST}&from=Upper", "from= must name"),
        ("mount=1.0.0:x&from=a", "invalid value"),
        ("x=1", "not one the hub forwards"),
        ("mount", "plain key=value"),
    ],
)
def test_odd_query_parameters_are_refused_with_a_sentence(query, why):
    assert why in refused("POST", UPLOAD_START, query).message


def test_containerds_mirror_hint_is_dropped():
    assert plan(incoming("GET", Target(Kind.MANIFEST, "a", "latest"), "ns=docker.io")).query == ()


# --- headers -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        [("Content-Type", OCTET_STREAM), ("Content-Type", OCTET_STREAM)],
        [("Authorization", "Basic x"), ("Authorization", "Bearer y")],
        [("Host", "a"), ("Host", "b")],
        [("Content-Length", "1"), ("Transfer-Encoding", "chunked")],
        [("Transfer-Encoding", "gzip, chunked")],
        [("Content-Encoding", "gzip"), ("Content-Length", "1")],
        [("X-Anything", "ü")],
        [("X-Anything", "a\x00b")],
        [("Content-Range", "0-1, 2-3")],
        [("Content-Length", "-1")],
    ],
)
def test_ambiguous_or_non_ascii_headers_are_refused(headers):
    assert refused("PATCH", UPLOAD, "_state=a", headers).status in (400, 415)


def test_manifest_reads_forward_every_accept_header_and_nothing_else():
    accepts = [("Accept", media) for media in sorted(MANIFEST_MEDIA_TYPES)]
    upstream = plan(incoming("GET", Target(Kind.MANIFEST, "a", "latest"), headers=[*accepts, ("Authorization", "Bearer t"), ("Range", "bytes=0-1")]))
    assert [name for name, _ in upstream.headers] == ["Accept"] * 4
    assert upstream.path == "/v2/a/manifests/latest"


def test_a_manifest_put_needs_a_manifest_media_type():
    target = Target(Kind.MANIFEST, "a", "v1")
    assert refused("PUT", target, headers=[("Content-Type", "application/json"), ("Content-Length", "2")]).status == 415
    upstream = plan(incoming("PUT", target, headers=[("Content-Type", "application/vnd.oci.image.manifest.v1+json"), ("Content-Length", "2")]))
    assert dict(upstream.headers) == {"Content-Type": "application/vnd.oci.image.manifest.v1+json", "Content-Length": "2"}


def test_a_blob_range_passes_only_in_its_simple_form():
    blob = Target(Kind.BLOB, "a", DIGEST)
    assert dict(plan(incoming("GET", blob, headers=[("Range", "bytes=10-")])).headers) == {"Range": "bytes=10-"}
    assert refused("GET", blob, headers=[("Range", "bytes=0-1,5-6")]).status == 400


def test_bodies_on_reads_are_refused():
    assert refused("GET", Target(Kind.BLOB, "a", DIGEST), headers=[("Content-Length", "4")]).status == 400


def test_completing_an_upload_needs_a_digest_and_the_referrers_api_is_absent():
    assert "digest=" in refused("PUT", UPLOAD, "_state=a").message
    assert refused("GET", Target(Kind.REFERRERS, "a", DIGEST)).status == 404


# --- properties --------------------------------------------------------------------------
_header_names = st.sampled_from(["Content-Type", "content-type", "Content-Length", "Transfer-Encoding", "Accept", "Range", "Cookie", "X-A"])
_header_values = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
_query_parts = st.lists(
    st.tuples(st.sampled_from(["mount", "from", "digest", "_state", "n", "m%6Funt", "x", "ns", ""]), st.text(max_size=20)), max_size=5
)


@settings(max_examples=400, deadline=None)
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"]),
    upload_id=st.sampled_from(["", "abc-123"]),
    headers=st.lists(st.tuples(_header_names, _header_values), max_size=6),
    query=_query_parts,
    separator=st.sampled_from(["&", ";", "&&"]),
)
def test_whatever_an_upload_request_says_the_registry_never_sees_a_form_or_a_repeated_parameter(method, upload_id, headers, query, separator):
    raw_query = separator.join(f"{key}={value}" for key, value in query)
    target = Target(Kind.UPLOAD, "team/app", upload_id)
    try:
        upstream = plan(incoming(method, target, raw_query, headers))
    except NotUnderstood as refusal:
        assert 400 <= refusal.status < 500 and refusal.message
        return
    sent = dict(upstream.headers)
    assert set(sent) <= {"Content-Type", "Content-Length", "Content-Range"}
    assert sent.get("Content-Type", OCTET_STREAM) == OCTET_STREAM
    assert not upstream.has_body or sent.get("Content-Type") == OCTET_STREAM
    # what the registry parses out of the query is exactly what the gateway validated, once each
    as_go_reads_it = parse_qsl(upstream.path_and_query.partition("?")[2], keep_blank_values=True)
    assert as_go_reads_it == list(upstream.query)
    assert len({key for key, _ in as_go_reads_it}) == len(as_go_reads_it)
    assert parse_target(upstream.path) == target


@settings(max_examples=300, deadline=None)
@given(reference=st.text(alphabet="sha256:0123456789abcdefABCDEF.-_x", min_size=1, max_size=140))
def test_a_manifest_reference_is_a_tag_or_a_strict_digest_never_both_or_neither(reference):
    target = parse_target(f"/v2/a/manifests/{reference}")
    if target is None:
        return
    upstream = plan(incoming("GET", target))
    assert upstream.path == f"/v2/a/manifests/{reference}"
    if ":" in reference:
        assert not target.is_tag and reference.split(":", 1)[0] in ("sha256", "sha384", "sha512")


def test_only_manifest_media_types_are_asked_for_and_all_of_them_when_the_client_names_none():
    target = Target(Kind.MANIFEST, "a", "latest")
    oci = "application/vnd.oci.image.manifest.v1+json"
    asked = plan(incoming("GET", target, headers=[("Accept", f"{oci};q=0.9, application/json")])).headers
    assert asked == (("Accept", oci),)
    legacy = plan(incoming("GET", target, headers=[("Accept", "application/json")])).headers
    assert sorted(value for _, value in legacy) == sorted(MANIFEST_MEDIA_TYPES)


@pytest.mark.parametrize("upload_id", [".", "..", "...", ".x"])
def test_upload_ids_that_a_router_would_clean_are_not_parsed(upload_id):
    assert parse_target(f"/v2/a/blobs/uploads/{upload_id}") is None
