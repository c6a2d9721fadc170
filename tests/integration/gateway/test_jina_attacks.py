"""An outsider's attacks on the Jina Hub API (``/jina/...``), each found against a real gateway and
kept here so that it stays fixed: a real registry:2, a real ``hubpush hub serve``, raw HTTP as an
attacker would send it (not Jina's client, which never sends these)."""

from __future__ import annotations

import hashlib
import io
import socket
import uuid
import zipfile

import pytest
import requests

from hubpush.core.names import repository_for
from tests.conftest import TEST_BASE_IMAGE, running_gateway, running_registry

PUSH = "/jina/v2/rpc/executor.push"


@pytest.fixture(scope="module")
def registry(docker_client):
    with running_registry(docker_client) as started:
        yield started


def zipped(name: str) -> bytes:
    """An executor folder without a Dockerfile, zipped as Jina's client zips it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.yml", f"jtype: {name}\nmetas:\n  name: {name}\n")
        archive.writestr("executor.py", "# code\n")
    return buffer.getvalue()


def jina_push(url: str, name: str, headers: dict[str, str] | None = None, timeout: float = 300) -> requests.Response:
    """``jina hub push`` as the client sends it: the form's fields, then the zip."""
    data = zipped(name)
    form = {"public": "False", "private": "False", "md5sum": hashlib.md5(data).hexdigest(), "id": name}
    files = {"file": ("filename", data, "application/octet-stream")}
    return requests.post(url + PUSH, data=form, files=files, headers=headers or {}, timeout=timeout)


def test_an_upload_that_stalls_inside_the_zip_is_refused_in_jinas_shape(registry, tmp_path):
    """Found: a client that stopped sending in the middle of the zip got an empty 504, and the hub's
    log a traceback (the idle timeout was caught between parts only)."""
    with running_gateway(registry, tmp_path, env={"HUBPUSH_GATEWAY_IDLE_SECONDS": "1"}) as gateway:
        host, port = gateway.address.split(":")
        boundary = "b0undary"
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="filename"\r\n\r\nPK\x03\x04'.encode()
        with socket.create_connection((host, int(port)), timeout=20) as attacker:
            attacker.sendall(
                f"POST {PUSH} HTTP/1.1\r\nHost: {gateway.address}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: 100000\r\n\r\n".encode() + head
            )  # and then nothing more
            answer = b""
            while chunk := attacker.recv(65536):
                answer += chunk
        status, _, rest = answer.partition(b"\r\n")
        assert b" 408 " in status, answer[:300]
        assert b'"readableMessage": "The upload stalled for 1 s and was dropped."' in rest, answer[:600]
        assert "Traceback" not in gateway.log.read_text() and "Error handling request" not in gateway.log.read_text()


def test_a_multipart_push_without_a_boundary_is_refused_in_jinas_shape(registry, tmp_path):
    """Found: ``Content-Type: multipart/form-data`` without its boundary made the push answer 500."""
    with running_gateway(registry, tmp_path) as gateway:
        answer = requests.post(gateway.url + PUSH, data=b"x", headers={"Content-Type": "multipart/form-data"}, timeout=30)
        assert answer.status_code == 400, answer.text
        assert "not a well-formed multipart body" in answer.json()["readableMessage"]
        assert "Traceback" not in gateway.log.read_text()


def test_a_push_without_the_publisher_token_is_refused_before_its_upload_is_read(registry, tmp_path):
    """Found: on a hub that publishes only for token holders, anyone's upload (100 MiB) was received, stored
    and unpacked before the rules refused it."""
    with running_gateway(registry, tmp_path, env={"HUBPUSH_GATEWAY_PUBLISHER_TOKEN": uuid.uuid4().hex}) as gateway:
        host, port = gateway.address.split(":")
        with socket.create_connection((host, int(port)), timeout=10) as attacker:
            attacker.sendall(
                f"POST {PUSH} HTTP/1.1\r\nHost: {gateway.address}\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                f"Content-Length: 50000000\r\n\r\n".encode()
            )  # the body would follow; the answer must not wait for it
            answer = attacker.recv(65536)
        assert b" 403 " in answer.partition(b"\r\n")[0], answer[:300]
        assert b"publisher token" in answer


def test_a_hub_build_does_not_borrow_the_publisher_token_of_the_hubs_own_environment(registry, tmp_path):
    """Found: a hub build that proved no publisher token fell back to ``HUBPUSH_PUBLISHER_TOKEN`` of the
    gateway's process (the CLI's variable, which an operator who also pushes has set in the shell that
    runs ``hubpush hub up``), so anyone published on a hub that lets only token holders publish. (Such a push is
    now also refused before its upload is read, the test above; this one holds the promise end to end.)"""
    token = uuid.uuid4().hex
    env = {"HUBPUSH_GATEWAY_PUBLISHER_TOKEN": token, "HUBPUSH_PUBLISHER_TOKEN": token, "HUBPUSH_BASE_IMAGE": TEST_BASE_IMAGE}
    with running_gateway(registry, tmp_path, env=env) as gateway:
        before = registry.snapshot()
        name = f"Outsider{uuid.uuid4().hex[:8]}"
        answer = jina_push(gateway.url, name)
        assert answer.status_code == 403, answer.text[:600]
        assert "publisher token" in answer.json()["readableMessage"]
        assert registry.snapshot() == before
        # the holder of the token still publishes
        allowed = jina_push(gateway.url, f"Insider{uuid.uuid4().hex[:8]}", headers={"Authorization": f"token {token}"})
        assert allowed.status_code == 200 and '"type":"complete"' in allowed.text, allowed.text[-600:]


def test_get_package_with_a_secret_takes_as_long_for_a_missing_executor_as_for_a_private_one(registry, tmp_path):
    """Found: with a (wrong) secret, getPackage of a private executor ran scrypt and a missing one did not,
    so the answer's time told which private NAMEs exist, though the answers' text is the same."""
    import statistics
    import time

    from tests.conftest import cli_publisher

    with running_gateway(registry, tmp_path) as gateway:
        publish = cli_publisher(gateway.address, tmp_path)
        pushed, _ = publish("--private", prefix="Hidden")

        def seconds(name: str) -> float:
            spent = []
            for _ in range(5):
                started = time.perf_counter()
                answer = requests.post(
                    f"{gateway.url}/jina/v2/rpc/executor.getPackage",
                    json={"id": name, "include": ["code", "docker"], "secret": uuid.uuid4().hex * 2},
                    timeout=30,
                )
                spent.append(time.perf_counter() - started)
                assert answer.status_code == 401, answer.text
            return statistics.median(spent)

        private, missing = seconds(pushed["name"]), seconds(f"Missing{uuid.uuid4().hex[:8]}")
        # a scrypt check costs tens of milliseconds; a registry 404 a few
        assert missing > 0.6 * private, (missing, private)


def test_a_client_that_never_reads_its_build_stream_does_not_hold_the_build_slot(registry, tmp_path):
    """Found: the handler waited on a full socket buffer for as long as a client that never read kept its
    connection open, holding the hub's one build slot: every later ``jina hub push`` waited forever."""
    import time

    env = {"HUBPUSH_GATEWAY_IDLE_SECONDS": "2", "HUBPUSH_BASE_IMAGE": TEST_BASE_IMAGE}
    with running_gateway(registry, tmp_path, env=env) as gateway:
        name = f"Mute{uuid.uuid4().hex[:8]}"
        # 20 MB of build output (its own step, never cached), far more than the socket buffers hold
        noisy = f"FROM hubpush/busybox:latest\nRUN yes {name}0123456789012345678901234567890123456789012345678901 | head -n 300000\n"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("config.yml", f"jtype: {name}\nmetas:\n  name: {name}\n")
            archive.writestr("Dockerfile", noisy)
        data = buffer.getvalue()
        fields = {"public": "False", "private": "False", "md5sum": hashlib.md5(data).hexdigest(), "id": name}
        boundary = "b0undary"
        body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items())
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="filename"\r\n\r\n'.encode() + data
        body += f"\r\n--{boundary}--\r\n".encode()
        host, port = gateway.address.split(":")
        mute = socket.socket()
        mute.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            mute.connect((host, int(port)))
            mute.sendall(
                f"POST {PUSH} HTTP/1.1\r\nHost: {gateway.address}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode() + body
            )  # and never reads the answer
            started = time.monotonic()
            while registry.tags(repository_for(name)) is None and time.monotonic() - started < 120:
                time.sleep(0.5)  # its build still completes and is published
            assert registry.tags(repository_for(name)) == ["latest"]
            after = jina_push(gateway.url, f"Next{uuid.uuid4().hex[:8]}", timeout=60)  # waited forever before
            assert after.status_code == 200 and '"type":"complete"' in after.text, after.text[-600:]
        finally:
            mute.close()


def test_a_build_that_prints_nothing_is_stopped_at_the_hubs_build_limit(registry, tmp_path, docker_client):
    """Found: the build limit was checked only when the build printed a line, so ``RUN sleep`` held the hub's
    build slot past HUBPUSH_GATEWAY_BUILD_SECONDS (up to the engine client's own 600 s, then "lost the engine")."""
    import time

    env = {"HUBPUSH_GATEWAY_BUILD_SECONDS": "4", "HUBPUSH_BASE_IMAGE": TEST_BASE_IMAGE}
    with running_gateway(registry, tmp_path, env=env) as gateway:
        name = f"Sleepy{uuid.uuid4().hex[:8]}"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("config.yml", f"jtype: {name}\nmetas:\n  name: {name}\n")
            archive.writestr("Dockerfile", f"FROM hubpush/busybox:latest\nRUN sleep 25 # {name}\n")
        data = buffer.getvalue()
        form = {"public": "False", "private": "False", "md5sum": hashlib.md5(data).hexdigest(), "id": name}
        before = registry.snapshot()
        started = time.monotonic()
        answer = requests.post(gateway.url + PUSH, data=form, files={"file": ("filename", data)}, timeout=120)
        spent = time.monotonic() - started
        assert "ran longer than this hub allows (4 s)" in answer.text.splitlines()[-1], answer.text[-600:]
        assert spent < 15, spent
        assert registry.snapshot() == before
        time.sleep(2)  # the engine stops the build when its connection closes
        running = [c for c in docker_client.containers.list() if "sleep 25" in " ".join(c.attrs["Config"].get("Cmd") or [])]
        assert running == [], running


def test_jina_hub_status_lists_a_build_under_the_name_it_pushed_not_the_forms_id(registry, tmp_path):
    """Found: a push whose form 'id' named another executor (the zip's metas.name is what is pushed) was
    listed as that executor's newest build, so ``jina hub status VICTIM`` showed the attacker's build."""
    env = {"HUBPUSH_BASE_IMAGE": TEST_BASE_IMAGE}
    with running_gateway(registry, tmp_path, env=env) as gateway:
        victim, pushed = f"Victim{uuid.uuid4().hex[:8]}", f"Spoofer{uuid.uuid4().hex[:8]}"
        data = zipped(pushed)
        form = {"public": "False", "private": "False", "md5sum": hashlib.md5(data).hexdigest(), "id": victim}
        answer = requests.post(gateway.url + PUSH, data=form, files={"file": ("filename", data)}, timeout=300)
        assert '"type":"complete"' in answer.text, answer.text[-600:]

        def listed(name: str) -> list:
            tasks = requests.post(f"{gateway.url}/jina/v2/rpc/executor.listAsyncTasks", data={"id": name}, timeout=30)
            return tasks.json()["data"]

        assert listed(victim) == []
        assert len(listed(pushed)) == 1
