"""The Jina Hub API's HTTP surface (``/jina/v2/rpc/...``) against a real gateway, registry:2 and engine.

What Jina's own client does with it end to end is in tests/e2e/test_jina_client.py; here every
answer is checked as the client would read it, with requests, including the refusals."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import time
import uuid
import zipfile

import aiohttp
import pytest
import requests

from hubpush.core.names import repository_for
from tests.conftest import TEST_BASE_IMAGE, cli_publisher, remove_local_images, running_gateway, running_registry

RPC = "/jina/v2/rpc"
PUBLISHER_TOKEN = "publisher-" + "p" * 30


@pytest.fixture(scope="module")
def hub(docker_client, tmp_path_factory):
    with running_registry(docker_client, REGISTRY_STORAGE_DELETE_ENABLED="true") as behind:
        with running_gateway(behind, tmp_path_factory.mktemp("jina-api")) as gateway:
            yield gateway
        remove_local_images(docker_client, gateway.address)


@pytest.fixture(scope="module")
def guarded_hub(docker_client, tmp_path_factory):
    """A hub that publishes only for holders of its publisher token."""
    with running_registry(docker_client) as behind:
        env = {"HUBPUSH_GATEWAY_PUBLISHER_TOKEN": PUBLISHER_TOKEN}
        with running_gateway(behind, tmp_path_factory.mktemp("jina-guarded"), env=env) as gateway:
            yield gateway


def executor_zip(name: str, *, extra: dict[str, str] | None = None) -> bytes:
    """An executor folder (its own quick Dockerfile) zipped as Jina's client zips it."""
    files = {
        "config.yml": f"jtype: {name}\npy_modules:\n  - executor.py\nmetas:\n  name: {name}\n",
        "executor.py": f"# {name}\n",
        "Dockerfile": f"FROM {TEST_BASE_IMAGE}\nCOPY . /workdir/\n",
        **(extra or {}),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return buffer.getvalue()


def hostile_zip(kind: str, name: str) -> bytes:
    """Zips no client makes, built byte by byte where zipfile would clean them up (tests/unit/executor/zips.py)."""
    from tests.unit.executor.zips import raw_zip, zero_bomb

    config = {"name": b"config.yml", "data": f"jtype: {name}\nmetas: {{name: {name}}}\n".encode()}
    if kind == "absolute":
        return raw_zip([config, {"name": b"/etc/cron.d/evil", "data": b"x"}])
    if kind == "symlink":
        return raw_zip([config, {"name": b"link", "data": b"/etc/passwd", "attr": (0o120777) << 16}])
    if kind == "fifo":
        return raw_zip([config, {"name": b"pipe", "data": b"", "attr": (0o010644) << 16}])
    if kind == "bomb":
        return zero_bomb(1)
    if kind == "laughs":
        laughs = ["a: &a [x, x, x, x, x, x, x, x, x, x]"] + [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}" + f", *{chr(97 + i)}" * 9 + "]" for i in range(9)]
        return executor_zip(name, extra={"config.yml": f"jtype: {name}\nmetas:\n  name: {name}\n" + "\n".join(laughs) + "\n"})
    if kind == "no config":
        return raw_zip([{"name": b"executor.py", "data": b"x"}])
    raise AssertionError(kind)


def send_push(hub, archive: bytes, *, endpoint: str = "executor.push", md5: str | None = None, headers=None, **fields: str):
    form = {"public": "False", "private": "False", "md5sum": md5 or hashlib.md5(archive).hexdigest(), **fields}
    files = {"file": ("filename", archive, "application/octet-stream")}
    return requests.post(f"{hub.url}{RPC}/{endpoint}", data=form, files=files, headers=headers or {}, timeout=300)


def stream_lines(response) -> list[dict]:
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def test_whoami_answers_anyone_on_an_open_hub(hub):
    for headers in ({}, {"Authorization": "token anything"}):
        answer = requests.post(f"{hub.url}{RPC}/user.identity.whoami", headers=headers, timeout=10)
        assert answer.status_code == 200 and answer.json()["data"]["name"]


def test_whoami_on_a_guarded_hub_knows_only_the_publisher_token(guarded_hub):
    refused = requests.post(f"{guarded_hub.url}{RPC}/user.identity.whoami", headers={"Authorization": "token wrong"}, timeout=10)
    assert refused.status_code == 401 and refused.json()["status"] == 40103
    allowed = requests.post(f"{guarded_hub.url}{RPC}/user.identity.whoami", headers={"Authorization": f"token {PUBLISHER_TOKEN}"}, timeout=10)
    assert allowed.status_code == 200


def test_a_guarded_hub_refuses_a_first_publish_without_its_token_before_building(guarded_hub):
    name = f"Guarded{uuid.uuid4().hex[:8]}"
    before = guarded_hub.registry.snapshot()
    refused = send_push(guarded_hub, executor_zip(name), id=name)
    assert refused.status_code == 403 and "publisher token" in refused.json()["readableMessage"]
    assert guarded_hub.registry.snapshot() == before
    allowed = send_push(guarded_hub, executor_zip(name), id=name, headers={"Authorization": f"token {PUBLISHER_TOKEN}"})
    assert stream_lines(allowed)[-1]["type"] == "complete"


def test_push_streams_progress_then_complete_with_name_and_secret(hub):
    name = f"Streamed{uuid.uuid4().hex[:8]}"
    lines = stream_lines(send_push(hub, executor_zip(name), id=name, tags="one,two"))
    kinds = [line["type"] for line in lines]
    assert kinds[-1] == "complete" and "progress" in kinds and "console" in kinds
    assert all(line.get("type") and (line["type"] != "progress" or line["subject"] == "buildWorkspace") for line in lines)
    payload = lines[-1]["payload"]
    assert payload["name"] == name and payload["visibility"] == "public" and len(payload["secret"]) >= 43
    assert payload["commit"]["tags"] == ["one", "two"]
    assert hub.registry.tags(repository_for(name)) == ["one", "two"]
    assert payload["secret"] not in hub.log.read_text()
    assert not any("hubpush-build-" in json.dumps(line) for line in lines)  # the hub's own paths are nobody's business


@pytest.mark.parametrize(
    ("why", "fields", "archive", "needle"),
    [
        ("not a zip", {}, b"PK\x03\x04 definitely not a zip", "zip"),
        ("md5 mismatch", {"md5sum": "0" * 32}, None, "md5sum"),
        ("update without secret", {"endpoint": "executor.update"}, None, "secret"),
        ("unknown field", {"surprise": "1"}, None, "surprise"),
        ("both visibilities", {"public": "True", "private": "True"}, None, "--private"),
        ("bad boolean", {"public": "yes"}, None, "'public'"),
        ("build env not an object", {"buildEnv": "[1]"}, None, "buildEnv"),
        ("bad tag", {"tags": "no spaces allowed"}, None, "tag"),
        ("traversal", {}, "traversal", "climbs out of the folder"),
        ("absolute path", {}, "absolute", "absolute"),
        ("symlink", {}, "symlink", "symbolic link"),
        ("fifo entry", {}, "fifo", "not a file or folder"),
        ("zip bomb", {}, "bomb", "unpacks to more than"),
        ("billion laughs", {}, "laughs", "alias"),
        ("no config.yml", {}, "no config", "config.yml"),
    ],
)
def test_bad_pushes_are_refused_in_the_clients_shape_and_change_nothing(hub, why, fields, archive, needle):
    name = f"Bad{uuid.uuid4().hex[:8]}"
    if archive is None:
        archive = executor_zip(name)
    elif archive == "traversal":
        archive = executor_zip(name, extra={"../escape.txt": "x"})
    elif isinstance(archive, str):
        archive = hostile_zip(archive, name)
    endpoint = fields.pop("endpoint", "executor.push")
    md5 = fields.pop("md5sum", None)
    before = hub.registry.snapshot()
    answer = send_push(hub, archive, endpoint=endpoint, md5=md5, id=name, **fields)
    assert 400 <= answer.status_code < 500, (why, answer.status_code, answer.text)
    body = answer.json()
    assert needle.lower() in body["readableMessage"].lower(), (why, body)
    assert body["exit_code"] and "Traceback" not in answer.text
    assert hub.registry.snapshot() == before


def test_a_plain_push_of_a_taken_name_says_to_add_the_secret(hub):
    name = f"Taken{uuid.uuid4().hex[:8]}"
    assert stream_lines(send_push(hub, executor_zip(name), id=name))[-1]["type"] == "complete"
    before = hub.registry.snapshot()
    again = send_push(hub, executor_zip(name), id=name)
    assert again.status_code == 409
    assert f"jina hub push --force-update {name} --secret SECRET" in again.json()["readableMessage"]
    assert hub.registry.snapshot() == before


@pytest.mark.parametrize("env", [{"HUBPUSH_GATEWAY_BUILDS": "off"}, {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}])
def test_a_hub_that_cannot_build_says_so_before_reading_the_upload(docker_client, tmp_path, env):
    with running_registry(docker_client) as behind, running_gateway(behind, tmp_path, env=env) as gateway:
        answer = send_push(gateway, executor_zip("NoBuilds1"), id="NoBuilds1")
        assert answer.status_code == 501
        assert "does not build" in answer.json()["readableMessage"]
        assert behind.snapshot() == {}


def test_get_package_pins_the_image_by_digest_and_refuses_source_for_cli_pushes(hub, tmp_path):
    publish = cli_publisher(hub.address, tmp_path)
    out, repository = publish(prefix="CliPushed")
    name = out["name"]
    answer = requests.post(f"{hub.url}{RPC}/executor.getPackage", json={"id": name, "include": ["code", "docker"]}, timeout=10)
    data = answer.json()["data"]
    assert answer.status_code == 200 and data["id"] == name and data["visibility"] == "public"
    assert data["package"]["containers"] == [f"{hub.address}/{repository}@{out['digest']}"]
    assert data["package"]["download"] is None and data["package"]["md5"] is None
    assert data["commit"]["tags"] == ["latest"]
    source = requests.post(f"{hub.url}{RPC}/executor.getPackage", json={"id": name, "include": ["code"]}, timeout=10)
    assert source.status_code == 404 and "jinahub+docker://" in source.json()["readableMessage"]
    unknown_tag = requests.post(f"{hub.url}{RPC}/executor.getPackage", json={"id": name, "tag": "nope", "include": ["docker"]}, timeout=10)
    assert unknown_tag.status_code == 404 and "latest" in unknown_tag.json()["readableMessage"]


def test_source_downloads_match_their_md5_and_only_their_signed_url_opens_them(hub):
    name = f"Sourced{uuid.uuid4().hex[:8]}"
    archive = executor_zip(name)
    lines = stream_lines(send_push(hub, archive, id=name, private="True"))
    secret = lines[-1]["payload"]["secret"]
    asked = {"id": name, "secret": secret, "include": ["code"]}
    package = requests.post(f"{hub.url}{RPC}/executor.getPackage", json=asked, timeout=10).json()["data"]["package"]
    assert package["md5"] == hashlib.md5(archive).hexdigest()
    assert requests.head(package["download"], timeout=10).headers["Content-Length"] == str(len(archive))
    assert requests.get(package["download"], timeout=10).content == archive
    tampered = package["download"][:-3] + ("AAA" if not package["download"].endswith("AAA") else "BBB")
    elsewhere = package["download"].replace(f"/source/{repository_for(name)}?", "/source/other-repo?")
    for url in (tampered, elsewhere, package["download"].split("?")[0]):
        refused = requests.get(url, timeout=10)
        assert refused.status_code == 404 and archive not in refused.content


def test_access_tokens_pull_exactly_their_executors_and_never_push(hub):
    secrets, names = [], []
    for _ in range(3):
        name = f"Tokened{uuid.uuid4().hex[:8]}"
        lines = stream_lines(send_push(hub, executor_zip(name), id=name, private="True"))
        names.append(name)
        secrets.append(lines[-1]["payload"]["secret"])
    asked = {"executors": [{"name": names[0], "secret": secrets[0]}, {"name": names[1], "secret": secrets[1]}], "hours": 1}
    made = requests.post(f"{hub.url}/hubpush/v1/access-tokens", json=asked, timeout=30)
    assert made.status_code == 200, made.text
    token = made.json()["token"]
    assert made.json()["repositories"] == sorted(repository_for(n) for n in names[:2])

    def pull_token(repository: str, action: str = "pull", password: str = token) -> dict:
        scope = f"repository:{repository}:{action}"
        answer = requests.get(f"{hub.url}/hubpush/v1/token", params={"scope": scope, "service": "hubpush"}, auth=("token", password), timeout=10)
        return answer

    def manifest(repository: str, bearer: str) -> int:
        return requests.get(
            f"{hub.url}/v2/{repository}/manifests/latest",
            headers={"Authorization": f"Bearer {bearer}", "Accept": "application/vnd.docker.distribution.manifest.v2+json"},
            timeout=10,
        ).status_code

    for name in names[:2]:
        assert manifest(repository_for(name), pull_token(repository_for(name)).json()["token"]) == 200
    third = pull_token(repository_for(names[2])).json()["token"]
    assert manifest(repository_for(names[2]), third) in (401, 403)
    pushing = pull_token(repository_for(names[0]), "push,pull").json()["token"]
    put = requests.put(
        f"{hub.url}/v2/{repository_for(names[0])}/manifests/evil",
        data=b"{}",
        headers={"Authorization": f"Bearer {pushing}", "Content-Type": "application/vnd.docker.distribution.manifest.v2+json"},
        timeout=10,
    )
    assert put.status_code in (401, 403)
    assert pull_token(repository_for(names[0]), password=token[:-2] + "xx").status_code == 401

    oauth = requests.post(
        f"{hub.url}/hubpush/v1/token",
        data={"grant_type": "refresh_token", "refresh_token": token, "service": "hubpush", "scope": f"repository:{repository_for(names[1])}:pull"},
        timeout=10,
    )
    assert oauth.status_code == 200 and manifest(repository_for(names[1]), oauth.json()["access_token"]) == 200

    wrong = dict(asked, executors=[{"name": names[2], "secret": "z" * 43}])
    assert requests.post(f"{hub.url}/hubpush/v1/access-tokens", json=wrong, timeout=30).status_code == 403


def test_jina_hub_status_lists_public_builds_only(hub):
    public, private = f"StatusPub{uuid.uuid4().hex[:6]}", f"StatusPriv{uuid.uuid4().hex[:6]}"
    assert stream_lines(send_push(hub, executor_zip(public), id=public))[-1]["type"] == "complete"
    assert stream_lines(send_push(hub, executor_zip(private), id=private, private="True"))[-1]["type"] == "complete"
    listed = requests.post(f"{hub.url}{RPC}/executor.listAsyncTasks", data={"id": public, "sort": "-createdAt", "pageSize": "1"}, timeout=10)
    hidden = requests.post(f"{hub.url}{RPC}/executor.listAsyncTasks", data={"id": private, "sort": "-createdAt", "pageSize": "1"}, timeout=10)
    assert len(listed.json()["data"]) == 1 and hidden.json()["data"] == []
    task = listed.json()["data"][0]["_id"]
    report = requests.post(f"{hub.url}{RPC}/executor.queryProgress", files={"id": (None, task), "replay": (None, "True")}, timeout=10)
    lines = [json.loads(line) for line in report.text.splitlines()]
    assert lines[-1]["type"] == "report" and lines[-1]["status"] == "succeeded"
    assert "secret" not in lines[-1]["result"]


def test_build_env_dockerfile_platform_and_no_cache_reach_the_build(hub):
    name = f"Flags{uuid.uuid4().hex[:8]}"
    dockerfile = f'FROM {TEST_BASE_IMAGE}\nARG GREETING\nRUN test "$GREETING" = hi && echo "greeting is $GREETING"\n'
    archive = executor_zip(name, extra={"Dockerfile": "FROM scratch\n", "build/Custom.dockerfile": dockerfile})
    lines = stream_lines(
        send_push(hub, archive, id=name, dockerfile="build/Custom.dockerfile", buildEnv='{"GREETING": "hi"}',
                  platform="linux/amd64", buildWithNoCache="True", verbose="True")
    )  # fmt: skip
    assert lines[-1]["type"] == "complete", lines[-3:]
    assert any("greeting is hi" in line.get("payload", "") for line in lines if line["type"] == "console")
    assert not any("Using cache" in line.get("payload", "") for line in lines if line["type"] == "console")
    wrong = send_push(hub, archive, id=name, dockerfile="build/Custom.dockerfile", buildEnv='{"GREETING": "no"}')
    assert wrong.status_code == 409  # the NAME is taken now: refused before the build, as any plain push


def test_a_build_over_its_time_is_stopped_and_publishes_nothing(docker_client, tmp_path):
    env = {"HUBPUSH_GATEWAY_BUILD_SECONDS": "1"}
    with running_registry(docker_client) as behind, running_gateway(behind, tmp_path, env=env) as gateway:
        name = f"Slow{uuid.uuid4().hex[:8]}"
        archive = executor_zip(name, extra={"Dockerfile": f"FROM {TEST_BASE_IMAGE}\nRUN sleep 3 && echo slept\nRUN echo next\n"})
        lines = stream_lines(send_push(gateway, archive, id=name, buildWithNoCache="True"))
        assert lines[-1]["type"] == "error" and lines[-1]["payload"]["kind"] == "build-timeout", lines[-3:]
        assert behind.tags(repository_for(name)) is None
        remove_local_images(docker_client, gateway.address)


def test_a_full_build_queue_refuses_at_once_and_changes_nothing(docker_client, tmp_path):
    import threading

    env = {"HUBPUSH_GATEWAY_BUILDS_AT_ONCE": "1", "HUBPUSH_GATEWAY_BUILD_QUEUE": "1"}
    with running_registry(docker_client) as behind, running_gateway(behind, tmp_path, env=env) as gateway:
        slow = f"FROM {TEST_BASE_IMAGE}\nRUN sleep 4\n"
        answers: list = []
        names = [f"Queued{uuid.uuid4().hex[:8]}" for _ in range(2)]
        workers = [
            threading.Thread(target=lambda n=n: answers.append(send_push(gateway, executor_zip(n, extra={"Dockerfile": slow}), id=n, buildWithNoCache="True")))
            for n in names
        ]
        for worker in workers:
            worker.start()
            time.sleep(1)
        busy = send_push(gateway, executor_zip("Queued3rd"), id="Queued3rd")
        assert busy.status_code == 503 and "busy" in busy.json()["readableMessage"]
        for worker in workers:
            worker.join(timeout=120)
        assert sorted(stream_lines(answer)[-1]["type"] for answer in answers) == ["complete", "complete"]
        assert behind.tags(repository_for("Queued3rd")) is None
        remove_local_images(docker_client, gateway.address)


def test_wrong_secrets_through_jina_updates_spend_the_senders_budget_not_the_hubs_own(docker_client, tmp_path):
    """The hub's builds check secrets through the gateway from its own address; a flood of wrong
    update secrets must be counted against whoever sent it, so the owner's next update still builds."""
    env = {"HUBPUSH_GATEWAY_ADDRESS_FAILURES": "3"}
    with running_registry(docker_client) as behind:
        name = f"Limited{uuid.uuid4().hex[:8]}"
        archive = executor_zip(name)
        with running_gateway(behind, tmp_path, env=env) as first:
            secret = stream_lines(send_push(first, archive, id=name))[-1]["payload"]["secret"]
        # a new gateway process: the owner's secret is in no cache of verified pairs
        with running_gateway(behind, tmp_path, env=env) as gateway:
            before = behind.snapshot()
            statuses = asyncio.run(wrong_updates_from("127.0.0.2", gateway, name, archive, times=6))
            assert statuses[:3] == [403, 403, 403] and set(statuses[3:]) == {429}, statuses
            assert behind.snapshot() == before
            update = send_push(gateway, archive, endpoint="executor.update", id=name, secret=secret, tags="after-flood")
            assert stream_lines(update)[-1]["type"] == "complete"
            assert "after-flood" in behind.tags(repository_for(name))
            remove_local_images(docker_client, gateway.address)


async def wrong_updates_from(source: str, gateway, name: str, archive: bytes, *, times: int) -> list[int]:
    """``times`` executor.update pushes with a wrong secret, sent from the loopback address ``source``."""
    statuses = []
    fields = {"public": "False", "private": "False", "md5sum": hashlib.md5(archive).hexdigest(), "id": name, "secret": "w" * 43}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(source, 0))) as session:
        for _ in range(times):
            form = aiohttp.FormData()
            for key, value in fields.items():
                form.add_field(key, value)
            form.add_field("file", archive, filename="filename", content_type="application/octet-stream")
            async with session.post(f"{gateway.url}{RPC}/executor.update", data=form) as answer:
                statuses.append(answer.status)
    return statuses


def test_uploads_in_flight_are_bounded_so_slow_senders_cannot_fill_the_hub(docker_client, tmp_path):
    import socket

    env = {"HUBPUSH_GATEWAY_BUILD_QUEUE": "1"}
    with running_registry(docker_client) as behind, running_gateway(behind, tmp_path, env=env) as gateway:
        host, port = gateway.address.split(":")
        slow = socket.create_connection((host, int(port)))
        try:
            head = (
                f"POST {RPC}/executor.push HTTP/1.1\r\nHost: {gateway.address}\r\n"
                "Content-Type: multipart/form-data; boundary=xx\r\nContent-Length: 100000000\r\n\r\n"
                '--xx\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nPK'
            )
            slow.sendall(head.encode())
            time.sleep(1)  # the gateway is now receiving that upload, a byte at a time as far as it knows
            busy = send_push(gateway, executor_zip("SecondUpload1"), id="SecondUpload1")
            assert busy.status_code == 503 and "being received" in busy.json()["readableMessage"]
        finally:
            slow.close()
        time.sleep(0.5)
        again = send_push(gateway, executor_zip("SecondUpload1"), id="SecondUpload1")
        assert stream_lines(again)[-1]["type"] == "complete"
        remove_local_images(docker_client, gateway.address)
