"""The gateway forwards only what it parsed: attacks on the request it sends the registry.

Every test runs against a real gateway and a real registry:2, and reads the registry behind
the gateway directly to prove what it holds did (or did not) change. Requests are written
byte for byte on a socket, so that headers can repeat, carry non-ASCII bytes, or contradict
each other in ways that HTTP client libraries refuse to send.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import MANIFEST_ACCEPT, cli_publisher, free_port, running_gateway


@dataclass(frozen=True)
class Answer:
    status: int
    head: bytes
    body: bytes


def send_raw(address: str, request: bytes, timeout: float = 20) -> Answer:
    """Write ``request`` as is, read the whole answer (the request says Connection: close)."""
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0]
    return Answer(int(status_line.split()[1]) if status_line else 0, head, body)


def raw_request(method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1".encode(), b"Host: localhost", b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def basic(out: dict) -> tuple[bytes, bytes]:
    return b"Authorization", b"Basic " + base64.b64encode(f"{out['name']}:{out['secret']}".encode())


@dataclass(frozen=True)
class Victim:
    """A private executor's blobs, and a public executor of the attacker's own (who holds its secret)."""

    repository: str
    blobs: dict[str, str]  # what -> digest: the executor's own layer, its image config, its metadata blob
    attacker: dict
    attacker_repository: str


@pytest.fixture(scope="module")
def victim(gateway, tmp_path_factory) -> Victim:
    """Published once for the module (each publish is a build), with the real CLI through the gateway."""
    publish = cli_publisher(gateway.address, tmp_path_factory.mktemp("forwarding"))
    _, repository = publish("--private", prefix="Fwd")
    attacker, attacker_repository = publish(prefix="Fwd")
    _, manifest = gateway.registry.manifest(repository, "latest")
    _, metadata_manifest = gateway.registry.manifest(f"hubpush-meta/{repository}", "current")
    blobs = {
        "layer": manifest["layers"][-1]["digest"],  # the executor's own files (base layers are shared)
        "config": manifest["config"]["digest"],
        "metadata": metadata_manifest["config"]["digest"],
    }
    return Victim(repository, blobs, attacker, attacker_repository)


def assert_not_in_attackers_repository(gateway, victim: Victim) -> None:
    for what, digest in victim.blobs.items():
        behind = requests.head(f"{gateway.registry.url}/v2/{victim.attacker_repository}/blobs/{digest}", timeout=10)
        assert behind.status_code == 404, f"the victim's {what} blob was mounted into the attacker's repository"
        anonymous = requests.get(f"{gateway.url}/v2/{victim.attacker_repository}/blobs/{digest}", timeout=10)
        assert anonymous.status_code == 404, what


# --- the finding: a form body hidden behind a Content-Type only Go reads as a form ------------
FORM_TYPES = [
    "application/x-www-form-urlencoded",
    "applİcation/x-www-form-urlencoded",  # U+0130: Go lower-cases it to "i"
    "APPLICATION/X-WWW-FORM-URLENCODED",
    "application/x-www-form-urlencoded; charset=utf-8",
    " application/x-www-form-urlencoded",
    "multipart/form-data; boundary=b",
    "multİpart/form-data; boundary=b",
    "application/x-www-form-urlencoded\t",
]


@pytest.mark.parametrize("content_type", FORM_TYPES)
def test_no_spelling_of_a_form_content_type_mounts_a_private_blob(gateway, victim, content_type):
    for digest in victim.blobs.values():
        if content_type.startswith(("multipart", "multİ")):
            body = f'--b\r\nContent-Disposition: form-data; name="mount"\r\n\r\n{digest}\r\n--b\r\nContent-Disposition: form-data; name="from"\r\n\r\n{victim.repository}\r\n--b--\r\n'.encode()
        else:
            body = f"mount={digest}&from={victim.repository}".encode()
        headers = [basic(victim.attacker), (b"Content-Type", content_type.encode()), (b"Content-Length", str(len(body)).encode())]
        answer = send_raw(gateway.address, raw_request("POST", f"/v2/{victim.attacker_repository}/blobs/uploads/", headers, body))
        assert 400 <= answer.status < 500, answer
        assert b'"errors"' in answer.body, answer  # an OCI error body
    assert_not_in_attackers_repository(gateway, victim)


def test_an_upload_start_with_a_body_and_no_digest_is_refused(gateway, victim):
    body = b"mount=x&from=y"
    headers = [basic(victim.attacker), (b"Content-Type", b"application/octet-stream"), (b"Content-Length", b"14")]
    answer = send_raw(gateway.address, raw_request("POST", f"/v2/{victim.attacker_repository}/blobs/uploads/", headers, body))
    assert answer.status == 400 and b"takes no body" in answer.body


def test_a_mount_in_the_query_from_a_private_repository_becomes_a_plain_upload(gateway, victim):
    encoded = "".join(f"%{ord(c):02X}" for c in victim.repository)
    for digest in victim.blobs.values():
        for query in [f"mount={digest}&from={victim.repository}", f"m%6Funt={digest.replace(':', '%3A')}&fr%6Fm={encoded}"]:
            answer = send_raw(gateway.address, raw_request("POST", f"/v2/{victim.attacker_repository}/blobs/uploads/?{query}", [basic(victim.attacker)]))
            assert answer.status == 202, answer  # an ordinary upload starts; nothing is mounted
    assert_not_in_attackers_repository(gateway, victim)


@pytest.mark.parametrize(
    "query",
    [
        "mount={d}&from={r}&from={r}",
        "mount={d}&mount={d}&from={r}",
        "mount={d};from={r}",
        "mount={d}&from={r}%",
        "mount={d}&from={r}&_state=x",
        "mount={d}&from=hubpush-meta/{r}",
        "mount={d}",
        "unknown=1",
    ],
)
def test_repeated_unknown_or_odd_query_parameters_are_refused(gateway, victim, query):
    query = query.format(d=victim.blobs["layer"], r=victim.repository)
    answer = send_raw(gateway.address, raw_request("POST", f"/v2/{victim.attacker_repository}/blobs/uploads/?{query}", [basic(victim.attacker)]))
    assert answer.status == 400 and b'"errors"' in answer.body, (query, answer)
    assert_not_in_attackers_repository(gateway, victim)


@pytest.mark.parametrize(
    "headers",
    [
        [(b"Content-Type", b"application/octet-stream"), (b"Content-Type", b"application/x-www-form-urlencoded")],
        [(b"Content-Type", "applİcation/octet-stream".encode())],
        [(b"Content-Length", b"3"), (b"Transfer-Encoding", b"chunked")],
        [(b"Content-Encoding", b"gzip"), (b"Content-Length", b"3")],
        [(b"X-Note", "ünïcode".encode())],
    ],
    ids=["duplicate-content-type", "non-ascii-content-type", "length-and-chunked", "content-encoding", "non-ascii-header"],
)
def test_ambiguous_headers_are_refused_before_the_registry_sees_them(gateway, victim, headers):
    before = gateway.registry.snapshot()
    target = f"/v2/{victim.attacker_repository}/blobs/uploads/?digest={victim.blobs['layer']}"
    answer = send_raw(gateway.address, raw_request("POST", target, [basic(victim.attacker), *headers], b"abc"))
    assert 400 <= answer.status < 500, answer
    assert gateway.registry.snapshot() == before
    assert_not_in_attackers_repository(gateway, victim)


def test_a_monolithic_upload_start_is_forwarded_as_an_octet_stream(gateway, victim):
    body = b"hello"
    target = f"/v2/{victim.attacker_repository}/blobs/uploads/?digest=sha256:{'0' * 64}"
    headers = [basic(victim.attacker), (b"Content-Type", b"application/octet-stream"), (b"Content-Length", b"5")]
    answer = send_raw(gateway.address, raw_request("POST", target, headers, body))
    assert answer.status in (201, 202), answer  # registry 2.8 starts an ordinary upload


# --- property: whatever the Content-Type, headers, query and body, nothing is mounted ---------
_confusable = st.sampled_from(["i", "İ", "I", "ı", "K", "k", "ſ", "s", " ", "\t", ";", "=", "%", "/"])
_content_types = st.one_of(
    st.sampled_from([*FORM_TYPES, "application/octet-stream", "", "text/plain", "multipart/mixed; boundary=b"]),
    st.lists(st.one_of(st.sampled_from(list("applcatonx-wwfrmuedpst/;= ")), _confusable), min_size=1, max_size=40).map("".join),
)


@st.composite
def upload_starts(draw, victim: Victim):
    digest = draw(st.sampled_from(sorted(victim.blobs.values())))
    content_types = draw(st.lists(_content_types, min_size=0, max_size=3))
    form = f"mount={digest}&from={victim.repository}"
    body = draw(st.sampled_from([b"", form.encode(), f"--b\r\nContent-Disposition: form-data; name=\"mount\"\r\n\r\n{digest}\r\n--b--\r\n".encode()]))
    mount_from = st.sampled_from(["", f"mount={digest}", f"from={victim.repository}", form, form.replace("=", "%3D"), form.replace("&", ";")])
    query = "&".join(part for part in draw(st.lists(mount_from, max_size=3)) if part)
    headers = [basic(victim.attacker)]
    headers += [(b"Content-Type", value.encode("utf-8")) for value in content_types]
    if body or draw(st.booleans()):
        headers.append((b"Content-Length", str(len(body)).encode()))
    return raw_request("POST", f"/v2/{victim.attacker_repository}/blobs/uploads/" + (f"?{query}" if query else ""), headers, body)


def test_no_generated_upload_start_puts_a_foreign_blob_in_the_callers_repository(gateway, victim):
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(request=upload_starts(victim))
    def attempt(request: bytes) -> None:
        answer = send_raw(gateway.address, request)
        assert answer.status in (202, 400, 401, 403, 405, 411, 413, 414, 415), answer
        if answer.status >= 400:
            assert b'"errors"' in answer.body or answer.status in (400, 411, 413), answer
        assert_not_in_attackers_repository(gateway, victim)

    attempt()


# --- references: only tags and real digests reach the registry --------------------------------
@pytest.mark.parametrize("reference", ["1.0.0:x", "sha512:abc", f"sha256:{'A' * 64}", "sha256:abc", f"md5:{'a' * 32}"])
def test_references_that_are_neither_tag_nor_digest_never_reach_the_registry(gateway, victim, reference):
    for kind in ("manifests", "blobs"):
        response = requests.get(f"{gateway.url}/v2/{victim.attacker_repository}/{kind}/{reference}", headers={"Accept": MANIFEST_ACCEPT}, timeout=10)
        assert response.status_code == 404, (kind, response.text)
        assert "docker/registry" not in response.text and "/var/lib" not in response.text


def test_a_registry_failure_is_a_502_without_the_registrys_body(gateway, victim, tmp_path):
    """In front of the real registry, a proxy that fails one route with a 500 naming a storage path,
    as registry 2.8 does: the client sees the gateway's sentence only, the operator's log the rest."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    failing_path = f"/v2/{victim.attacker_repository}/tags/list"

    class FailingOneRoute(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path == failing_path:
                status, body, headers = 500, b'{"errors":[{"code":"UNKNOWN","detail":{"Path":"/docker/registry/v2/repositories/x"}}]}', {}
            else:
                behind = requests.get(gateway.registry.url + self.path, headers={"Accept": self.headers.get("Accept", "*/*")}, timeout=10)
                status, body = behind.status_code, behind.content
                headers = {k: v for k, v in behind.headers.items() if k.lower() in ("content-type", "docker-content-digest")}
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), FailingOneRoute)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    @dataclass
    class Upstream:
        url: str

    try:
        with running_gateway(Upstream(f"http://127.0.0.1:{server.server_port}"), tmp_path) as failing:  # type: ignore[arg-type]
            assert requests.get(f"{failing.url}/hubpush/v1/executors/{victim.attacker_repository}", timeout=10).ok
            response = requests.get(f"{failing.url}{failing_path}", timeout=10)
            assert response.status_code == 502, response.text
            assert response.json()["errors"][0]["code"] == "UNAVAILABLE"
            assert "docker/registry" not in response.text
            assert "docker/registry" in failing.log.read_text()  # the operator still sees it
    finally:
        server.shutdown()


# --- restarts: the port is free again at once --------------------------------------------------
def _keep_alive_clients(gateway, count: int) -> list[requests.Session]:
    sessions = []
    for _ in range(count):
        session = requests.Session()
        assert session.get(f"{gateway.url}/hubpush/v1/info", timeout=10).ok
        sessions.append(session)
    return sessions


def _restart_within(seconds: float, registry, log_dir, port: int) -> None:
    started = time.monotonic()
    with running_gateway(registry, log_dir, port=port) as again:
        assert time.monotonic() - started < seconds, "the gateway took too long to come back on its port"
        assert requests.get(f"{again.url}/hubpush/v1/info", timeout=10).ok


def test_a_gateway_stopped_with_keep_alive_clients_restarts_on_its_port_at_once(gateway, tmp_path):
    port = free_port()
    with running_gateway(gateway.registry, tmp_path, port=port) as first:
        sessions = _keep_alive_clients(first, 5)
        first.process.send_signal(signal.SIGTERM)
        first.process.wait(timeout=10)
    _restart_within(2.0, gateway.registry, tmp_path, port)
    for session in sessions:
        session.close()


def test_a_gateway_killed_mid_push_restarts_on_its_port_at_once(gateway, victim, tmp_path):
    port = free_port()
    with running_gateway(gateway.registry, tmp_path, port=port) as first:
        sessions = _keep_alive_clients(first, 5)
        started = requests.post(f"{first.url}/v2/{victim.attacker_repository}/blobs/uploads/", auth=(victim.attacker["name"], victim.attacker["secret"]), timeout=10)
        assert started.status_code == 202, started.text
        location = started.headers["Location"]

        def slow_body():
            for _ in range(200):
                yield b"x" * 65536
                time.sleep(0.01)

        pushing = threading.Thread(
            target=lambda: _ignore_errors(
                requests.patch, location, data=slow_body(), auth=(victim.attacker["name"], victim.attacker["secret"]), timeout=30
            ),
            daemon=True,
        )
        pushing.start()
        time.sleep(0.5)  # the upload is streaming through the gateway
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
        pushing.join(timeout=30)
    _restart_within(2.0, gateway.registry, tmp_path, port)
    for session in sessions:
        session.close()


def _ignore_errors(call, *args, **kwargs) -> None:
    with contextlib.suppress(requests.RequestException):
        call(*args, **kwargs)


# --- found by the outsider review of this fix ------------------------------------------------
EMPTY_GZIP_LAYER = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"


def test_a_pull_asking_for_no_manifest_type_does_not_make_the_registry_write(gateway, victim):
    """Registry 2.8 converts to schema 1 for such an Accept, and stores a blob to do it."""
    repository = victim.attacker_repository
    assert requests.head(f"{gateway.registry.url}/v2/{repository}/blobs/{EMPTY_GZIP_LAYER}", timeout=10).status_code == 404
    response = requests.get(f"{gateway.url}/v2/{repository}/manifests/latest", headers={"Accept": "application/json"}, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"] != "application/vnd.docker.distribution.manifest.v1+prettyjws"
    assert requests.head(f"{gateway.registry.url}/v2/{repository}/blobs/{EMPTY_GZIP_LAYER}", timeout=10).status_code == 404


@pytest.mark.parametrize("upload_id", [".", ".."])
def test_upload_ids_of_dots_never_reach_the_registry(gateway, victim, upload_id):
    answer = send_raw(gateway.address, raw_request("GET", f"/v2/{victim.attacker_repository}/blobs/uploads/{upload_id}", [basic(victim.attacker)]))
    assert answer.status == 404, answer


def test_hub_api_bodies_are_small_and_nesting_is_a_clear_400(gateway, victim):
    path = f"/hubpush/v1/executors/{victim.attacker_repository}/push"
    big = send_raw(gateway.address, raw_request("POST", path, [(b"Content-Length", b"4000000")], b"{"))
    assert big.status == 413 and b"at most 262144 bytes" in big.body, big
    nested = b"[" * 50000
    deep = send_raw(gateway.address, raw_request("POST", path, [(b"Content-Length", str(len(nested)).encode())], nested))
    assert deep.status == 400 and b"JSON object" in deep.body, deep


def test_a_client_that_stops_reading_is_dropped_and_frees_its_registry_connection(gateway, victim, tmp_path):
    auth = (victim.attacker["name"], victim.attacker["secret"])
    blob = os.urandom(8 << 20)
    digest = "sha256:" + __import__("hashlib").sha256(blob).hexdigest()
    with running_gateway(gateway.registry, tmp_path, env={"HUBPUSH_GATEWAY_IDLE_SECONDS": "1"}) as impatient:
        started = requests.post(f"{impatient.url}/v2/{victim.attacker_repository}/blobs/uploads/", auth=auth, timeout=10)
        done = requests.put(started.headers["Location"], params={"digest": digest}, data=blob, auth=auth, timeout=60)
        assert done.status_code == 201, done.text
        host, port = impatient.address.split(":")
        with socket.socket() as slow:
            slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            slow.connect((host, int(port)))
            slow.sendall(raw_request("GET", f"/v2/{victim.attacker_repository}/blobs/{digest}", [basic(victim.attacker)]))
            time.sleep(4)  # the gateway's idle limit is 1 s: it gives up on this reader
            slow.settimeout(20)
            received = 0
            while chunk := slow.recv(1 << 20):
                received += len(chunk)
        assert received < len(blob), "the gateway kept streaming to a client that stopped reading"
        assert requests.get(f"{impatient.url}/hubpush/v1/info", timeout=10).ok
