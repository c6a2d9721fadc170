"""The hub gateway against a real engine, a real registry:2 and real clients.

Every promise is checked with a client that is not hubpush: the docker CLI (login, pull,
push), the registry HTTP API through the gateway, and the registry behind it read
directly, to prove what it holds did (or did not) change.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker.errors
import pytest
import requests

from hubpush.core.names import repository_for
from hubpush.secret_store import SecretStore
from tests.integration.faulty_registry import FaultyRegistryProxy
from tests.conftest import MANIFEST_ACCEPT, TEST_BASE_IMAGE, CliResult, push_ok, running_gateway, unique_name


@pytest.fixture
def hub(hubpush, gateway):
    """The CLI, pointed at the gateway."""

    def run(*args: object, env: dict[str, str] | None = None) -> CliResult:
        return hubpush(*args, env={"HUBPUSH_REGISTRY": gateway.address, **(env or {})})

    return run


@pytest.fixture
def docker_cli(tmp_path):
    """The real docker CLI with a config of this test's own, so logins never leak between tests."""
    config = tmp_path / "docker-config"
    config.mkdir()

    def run(*args: str, stdin: str | None = None) -> CliResult:
        done = subprocess.run(
            ["docker", *args], env={**os.environ, "DOCKER_CONFIG": str(config)},
            input=stdin, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        return CliResult(done.returncode, done.stdout, done.stderr)

    return run


def publish(hub, make_executor, *args: object, name: str | None = None) -> tuple[dict, str]:
    folder, name = make_executor(name=name)
    out = push_ok(hub, folder, *args)
    return out, repository_for(name)


def local_image_exists(docker_client, reference: str) -> bool:
    try:
        docker_client.api.inspect_image(reference)
    except docker.errors.ImageNotFound:
        return False
    return True


# --- pulling: public anonymously, private only with NAME/SECRET -------------------------
def test_private_executor_is_pulled_only_after_docker_login_with_its_secret(hub, make_executor, gateway, docker_cli, docker_client):
    out, repository = publish(hub, make_executor, "--private")
    image = f"{gateway.address}/{repository}:latest"
    docker_client.images.remove(image, force=True)

    anonymous = docker_cli("pull", image)
    assert anonymous.exit_code != 0 and "unauthorized" in anonymous.stderr.lower(), anonymous.stderr
    assert not local_image_exists(docker_client, image)

    wrong = docker_cli("login", gateway.address, "-u", out["name"], "--password-stdin", stdin="not-the-secret-" * 3)
    assert wrong.exit_code != 0 and "Incorrect NAME or SECRET" in wrong.stderr, wrong.stderr
    assert docker_cli("pull", image).exit_code != 0
    assert not local_image_exists(docker_client, image)

    login = docker_cli("login", gateway.address, "-u", out["name"], "--password-stdin", stdin=out["secret"])
    assert login.exit_code == 0, login.stderr
    pulled = docker_cli("pull", image)
    assert pulled.exit_code == 0, pulled.stderr
    assert out["digest"] in pulled.stdout
    assert "does not" not in pulled.stderr  # no "registry does not conform" fallback warning


def test_private_executor_answers_anonymous_api_calls_with_401_and_an_oci_error(hub, make_executor, gateway):
    out, repository = publish(hub, make_executor, "--private")
    _, manifest = gateway.registry.manifest(repository, "latest")
    for path in ["manifests/latest", f"blobs/{manifest['config']['digest']}", "tags/list"]:
        response = requests.get(f"{gateway.url}/v2/{repository}/{path}", headers={"Accept": MANIFEST_ACCEPT}, timeout=10)
        assert response.status_code == 401, path
        assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
        assert 'Bearer realm="' in response.headers["WWW-Authenticate"]
        assert manifest["config"]["digest"] not in response.text or path.startswith("blobs")
    # the same answer for a name that does not exist: private names do not leak
    ghost = requests.get(f"{gateway.url}/v2/{repository}-ghost/manifests/latest", timeout=10)
    assert ghost.status_code == 401
    # with the secret (plain Basic auth, as curl -u does) the same calls work
    with_secret = requests.get(
        f"{gateway.url}/v2/{repository}/manifests/latest", auth=(out["name"], out["secret"]), headers={"Accept": MANIFEST_ACCEPT}, timeout=10
    )
    assert with_secret.status_code == 200 and with_secret.headers["Docker-Content-Digest"] == out["digest"]


def test_public_executor_is_pulled_anonymously(hub, make_executor, gateway, docker_cli, docker_client):
    out, repository = publish(hub, make_executor)
    image = f"{gateway.address}/{repository}:latest"
    docker_client.images.remove(image, force=True)
    pulled = docker_cli("pull", image)
    assert pulled.exit_code == 0, pulled.stderr
    assert out["digest"] in pulled.stdout


def test_hubpush_pull_passes_the_secret_for_one_pull_without_any_login(hub, make_executor, gateway, docker_client, tmp_path):
    out, repository = publish(hub, make_executor, "--private", "-t", "v1")
    image = f"{gateway.address}/{repository}:v1"
    docker_client.images.remove(image, force=True)
    isolated = {"HUBPUSH_CONFIG_DIR": str(tmp_path / "elsewhere"), "DOCKER_CONFIG": str(tmp_path / "no-docker-login")}

    missing = hub("pull", out["name"], "-t", "v1", env=isolated)
    assert missing.exit_code == 22 and "pass --secret" in missing.stderr, missing.stderr
    wrong = hub("pull", out["name"], "-t", "v1", "--secret", "x" * 43, env=isolated)
    assert wrong.exit_code == 23 and "wrong" in wrong.stderr, wrong.stderr
    assert not local_image_exists(docker_client, image)

    pulled = hub("pull", out["name"], "-t", "v1", "--secret", out["secret"], "--json", env=isolated)
    assert pulled.exit_code == 0, pulled.stderr
    assert pulled.json["digest"] == out["digest"] and local_image_exists(docker_client, image)
    assert not (tmp_path / "no-docker-login" / "config.json").exists()  # nothing was stored


# --- pushing: only with the executor's secret, never over a protected tag ----------------
def test_plain_docker_push_over_a_protected_tag_is_refused_and_the_tag_keeps_its_digest(
    hub, make_executor, gateway, docker_cli, docker_client
):
    out, repository = publish(hub, make_executor, "--protected-tag", "v1")
    assert gateway.registry.manifest(repository, "v1")[0] == out["digest"]
    login = docker_cli("login", gateway.address, "-u", out["name"], "--password-stdin", stdin=out["secret"])
    assert login.exit_code == 0, login.stderr

    docker_client.images.get(TEST_BASE_IMAGE).tag(f"{gateway.address}/{repository}", "v1")
    pushed = docker_cli("push", f"{gateway.address}/{repository}:v1")
    assert pushed.exit_code != 0
    assert "Tag 'v1'" in pushed.stderr + pushed.stdout and "protected" in pushed.stderr + pushed.stdout
    assert gateway.registry.manifest(repository, "v1")[0] == out["digest"]  # read behind the gateway

    # the same image under a new tag is fine for the secret's holder, and recorded in the metadata
    docker_client.images.get(TEST_BASE_IMAGE).tag(f"{gateway.address}/{repository}", "extra")
    assert docker_cli("push", f"{gateway.address}/{repository}:extra").exit_code == 0
    meta = gateway.registry.metadata(repository)
    assert "extra" in meta["tags"] and meta["history"][-1]["tag"] == "extra"


def test_the_protected_tag_answer_is_412_with_an_oci_error_naming_the_tag(hub, make_executor, gateway):
    out, repository = publish(hub, make_executor, "--protected-tag", "stable")
    digest, _ = gateway.registry.manifest(repository, "stable")
    raw = requests.get(f"{gateway.registry.url}/v2/{repository}/manifests/stable", headers={"Accept": MANIFEST_ACCEPT}, timeout=10)
    response = requests.put(
        f"{gateway.url}/v2/{repository}/manifests/stable",
        data=raw.content,
        headers={"Content-Type": raw.headers["Content-Type"]},
        auth=(out["name"], out["secret"]),
        timeout=10,
    )
    assert response.status_code == 412
    error = response.json()["errors"][0]
    assert error["code"] == "DENIED" and "'stable'" in error["message"]
    assert error["detail"]["tag"] == "stable" and error["detail"]["repository"] == repository
    assert gateway.registry.manifest(repository, "stable")[0] == digest


def test_pushing_needs_the_executors_own_secret(hub, make_executor, gateway, docker_cli, docker_client):
    _, repository = publish(hub, make_executor)
    other, _ = publish(hub, make_executor)
    before = gateway.registry.tags(repository)
    reference = f"{gateway.address}/{repository}:intruder"
    docker_client.images.get(TEST_BASE_IMAGE).tag(f"{gateway.address}/{repository}", "intruder")

    anonymous = docker_cli("push", reference)
    assert anonymous.exit_code != 0 and "unauthorized" in anonymous.stderr.lower(), anonymous.stderr
    assert docker_cli("login", gateway.address, "-u", other["name"], "--password-stdin", stdin=other["secret"]).exit_code == 0
    foreign = docker_cli("push", reference)
    assert foreign.exit_code != 0 and "denied" in foreign.stderr.lower(), foreign.stderr
    assert gateway.registry.tags(repository) == before


def test_a_repository_that_is_not_a_published_executor_cannot_be_pushed_to(hub, make_executor, gateway, docker_cli, docker_client):
    owner, _ = publish(hub, make_executor)
    assert docker_cli("login", gateway.address, "-u", owner["name"], "--password-stdin", stdin=owner["secret"]).exit_code == 0
    stray = f"{gateway.address}/not-published-{unique_name().lower()}"
    docker_client.images.get(TEST_BASE_IMAGE).tag(stray, "latest")
    pushed = docker_cli("push", f"{stray}:latest")
    assert pushed.exit_code != 0
    assert gateway.registry.tags(stray.split("/", 1)[1]) is None


# --- metadata: only the gateway writes it, private metadata is not readable -------------
def test_direct_writes_to_metadata_are_refused_even_with_the_secret(hub, make_executor, gateway, docker_cli, docker_client):
    out, repository = publish(hub, make_executor, "--private")
    meta_repo = f"hubpush-meta/{repository}"
    before = gateway.registry.manifest(meta_repo, "current")
    auth = (out["name"], out["secret"])

    started = requests.post(f"{gateway.url}/v2/{meta_repo}/blobs/uploads/", auth=auth, timeout=10)
    assert started.status_code == 403 and started.json()["errors"][0]["code"] == "DENIED"
    overwrite = requests.put(
        f"{gateway.url}/v2/{meta_repo}/manifests/current",
        data=b"{}",
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        auth=auth,
        timeout=10,
    )
    assert overwrite.status_code == 403
    deleted = requests.delete(f"{gateway.url}/v2/{meta_repo}/manifests/{before[0]}", auth=auth, timeout=10)
    assert deleted.status_code == 403
    # docker push into the metadata namespace is refused as well
    assert docker_cli("login", gateway.address, "-u", out["name"], "--password-stdin", stdin=out["secret"]).exit_code == 0
    docker_client.images.get(TEST_BASE_IMAGE).tag(f"{gateway.address}/{meta_repo}", "current")
    assert docker_cli("push", f"{gateway.address}/{meta_repo}:current").exit_code != 0
    assert gateway.registry.manifest(meta_repo, "current") == before

    # reading it: never anonymously for a private executor, and the secret hash never leaves
    anonymous = requests.get(f"{gateway.url}/v2/{meta_repo}/manifests/current", timeout=10)
    assert anonymous.status_code == 403 and "secret_hash" not in anonymous.text
    hub_api = requests.get(f"{gateway.url}/hubpush/v1/executors/{repository}", timeout=10)
    assert hub_api.status_code == 401 and out["name"] not in hub_api.text
    shown = requests.get(f"{gateway.url}/hubpush/v1/executors/{repository}", auth=auth, timeout=10)
    assert shown.status_code == 200 and shown.json()["visibility"] == "private"
    assert "secret_hash" not in shown.json()


def test_catalog_lists_public_executors_and_private_ones_only_for_their_secret(hub, make_executor, gateway):
    _, public_repo = publish(hub, make_executor)
    private, private_repo = publish(hub, make_executor, "--private")
    anonymous = requests.get(f"{gateway.url}/v2/_catalog", timeout=30).json()["repositories"]
    assert public_repo in anonymous and private_repo not in anonymous
    assert not any(name.startswith("hubpush-meta") for name in anonymous)
    owner = requests.get(f"{gateway.url}/v2/_catalog", auth=(private["name"], private["secret"]), timeout=30).json()["repositories"]
    assert private_repo in owner and public_repo in owner


def test_hub_show_hides_private_executors_without_their_secret(hub, make_executor, tmp_path):
    out, _ = publish(hub, make_executor, "--private")
    elsewhere = {"HUBPUSH_CONFIG_DIR": str(tmp_path / "elsewhere")}
    refused = hub("show", out["name"], env=elsewhere)
    assert refused.exit_code == 22 and "does not exist, or it is private" in refused.stderr, refused.stderr
    shown = hub("show", out["name"], "--secret", out["secret"], "--json", env=elsewhere)
    assert shown.exit_code == 0 and shown.json["visibility"] == "private"


# --- publishing: first come first served, or only with the hub's publisher token --------
def test_publisher_token_restricts_who_creates_executors(hubpush, make_executor, gateway, tmp_path):
    token_file = tmp_path / "publisher.token"
    token_file.write_text("team-publisher-token-0123456789abcdef\n")
    # a second gateway on the same registry: gateways keep no state of their own
    with running_gateway(gateway.registry, tmp_path, "--publisher-token-file", str(token_file)) as restricted:
        env = {"HUBPUSH_REGISTRY": restricted.address}
        folder, name = make_executor()
        before = restricted.registry.snapshot()
        refused = hubpush("push", folder, env=env)
        assert refused.exit_code == 27 and "publisher token" in refused.stderr, refused.stderr
        assert restricted.registry.snapshot() == before
        out = push_ok(hubpush, folder, env={**env, "HUBPUSH_PUBLISHER_TOKEN": "team-publisher-token-0123456789abcdef"})
        # updating an executor needs its secret, not the publisher token
        again = hubpush("push", "--force-update", name, "-t", "v2", folder, env=env)
        assert again.exit_code == 0, again.stderr
        assert restricted.registry.tags(repository_for(name)) == ["latest", "v2"]
        assert out["first_publish"] is True
        # a publisher token that is not UTF-8 is merely wrong (it was a 500 and a traceback)
        host, port = restricted.address.split(":")
        with socket.create_connection((host, int(port))) as raw:
            body = b'{"name": "Other1", "is_update": false, "dry_run": true}'
            raw.sendall(
                b"POST /hubpush/v1/executors/other1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"X-Hubpush-Publisher-Token: \xff\xfe\r\nConnection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            answer = raw.recv(4096)
        assert answer.startswith(b"HTTP/1.1 403") and b"publisher token" in answer, answer[:300]


# --- races: the gateway serializes pushes of one executor -------------------------------
def _in_parallel(calls):
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_parallel_pushes_of_one_new_protected_tag_have_exactly_one_winner(hub, make_executor, gateway, tmp_path):
    out, repository = publish(hub, make_executor)
    name, secret = out["name"], out["secret"]
    folders = [make_executor(name=name, files={"variant.txt": f"variant {i}\n"})[0] for i in range(4)]
    calls = [
        (lambda folder=folder, i=i: hub(
            "push", "--json", "--force-update", name, "--secret", secret, "--protected-tag", "v1", folder,
            env={"HUBPUSH_CONFIG_DIR": str(tmp_path / f"config-{i}")},
        ))
        for i, folder in enumerate(folders)
    ]  # fmt: skip
    results = _in_parallel(calls)
    winners = [r for r in results if r.exit_code == 0]
    assert len(winners) == 1, [(r.exit_code, r.stderr[-300:]) for r in results]
    assert all(r.exit_code == 24 for r in results if r.exit_code != 0), [r.stderr[-300:] for r in results]
    digest = winners[0].json["digest"]
    assert gateway.registry.manifest(repository, "v1")[0] == digest
    meta = gateway.registry.metadata(repository)
    assert meta["tags"]["v1"]["digest"] == digest and "v1" in meta["protected_tags"]
    assert [entry["tag"] for entry in meta["history"]].count("v1") == 1


def test_parallel_first_publishes_of_one_name_have_exactly_one_winner(hub, make_executor, gateway, tmp_path):
    name = unique_name()
    folders = [make_executor(name=name, files={"variant.txt": f"variant {i}\n"})[0] for i in range(4)]
    calls = [
        (lambda folder=folder, i=i: hub("push", "--json", folder, env={"HUBPUSH_CONFIG_DIR": str(tmp_path / f"config-{i}")}))
        for i, folder in enumerate(folders)
    ]
    results = _in_parallel(calls)
    winners = [r for r in results if r.exit_code == 0]
    assert len(winners) == 1, [(r.exit_code, r.stderr[-300:]) for r in results]
    assert all(r.exit_code == 21 for r in results if r.exit_code != 0), [r.stderr[-300:] for r in results]
    repository = repository_for(name)
    assert gateway.registry.manifest(repository, "latest")[0] == winners[0].json["digest"]
    # the winner's secret owns the NAME: it updates, the losers' caches hold nothing for it
    again = hub("push", "--force-update", name, "--secret", winners[0].json["secret"], "-t", "v2", folders[0])
    assert again.exit_code == 0, again.stderr


def test_parallel_pushes_of_different_executors_all_succeed(hub, make_executor, gateway):
    folders = [make_executor() for _ in range(4)]
    results = _in_parallel([(lambda folder=folder: hub("push", "--json", folder)) for folder, _ in folders])
    assert [r.exit_code for r in results] == [0] * 4, [r.stderr[-300:] for r in results]
    for (_, name), result in zip(folders, results, strict=True):
        assert gateway.registry.manifest(repository_for(name), "latest")[0] == result.json["digest"]


# --- streaming: a 1 GiB blob, in chunks, with range reads; memory stays flat -------------
GIB = 1 << 30
_PIECE = 1 << 20


class PatternStream(io.RawIOBase):
    """``size`` bytes of a repeating random pattern, made on the fly (nothing held whole)."""

    def __init__(self, start: int, size: int, pattern: bytes) -> None:
        self.position, self.end, self.pattern = start, start + size, pattern

    def __len__(self) -> int:
        return self.end - self.position

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = min(size if size > 0 else _PIECE, self.end - self.position, _PIECE - self.position % _PIECE)
        data = self.pattern[self.position % _PIECE : self.position % _PIECE + size]
        self.position += size
        return data


def test_a_1_gib_blob_streams_through_in_chunks_with_flat_gateway_memory(hub, make_executor, gateway, record_property, capsys):
    out, repository = publish(hub, make_executor)
    auth = (out["name"], out["secret"])
    pattern = os.urandom(_PIECE)
    expected = hashlib.sha256()
    for _ in range(GIB // _PIECE):
        expected.update(pattern)
    digest = f"sha256:{expected.hexdigest()}"
    before_kib = gateway.memory_kib("VmRSS")

    started = requests.post(f"{gateway.url}/v2/{repository}/blobs/uploads/", auth=auth, timeout=30)
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    assert location.startswith(gateway.url)  # the registry's own address never reaches the client
    chunk = GIB // 4
    for offset in range(0, GIB, chunk):  # a chunked upload: four PATCHes with Content-Range
        patched = requests.patch(
            location, data=PatternStream(offset, chunk, pattern), auth=auth, timeout=600,
            headers={"Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{offset + chunk - 1}"},
        )  # fmt: skip
        assert patched.status_code == 202, patched.text
        location = patched.headers["Location"]
    separator = "&" if "?" in location else "?"
    done = requests.put(f"{location}{separator}digest={digest}", auth=auth, timeout=600)
    assert done.status_code == 201, done.text

    head = requests.head(f"{gateway.url}/v2/{repository}/blobs/{digest}", auth=auth, timeout=30)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == GIB
    ranged = requests.get(f"{gateway.url}/v2/{repository}/blobs/{digest}", auth=auth, headers={"Range": "bytes=1048570-1048585"}, timeout=30)
    assert ranged.status_code == 206 and ranged.content == pattern[-6:] + pattern[:10]

    pulled = hashlib.sha256()
    with requests.get(f"{gateway.url}/v2/{repository}/blobs/{digest}", auth=auth, stream=True, timeout=600) as response:
        assert response.status_code == 200
        for piece in response.iter_content(_PIECE):
            pulled.update(piece)
    assert f"sha256:{pulled.hexdigest()}" == digest

    peak_mib = gateway.memory_kib("VmHWM") / 1024
    record_property("gateway_peak_rss_mib", round(peak_mib, 1))
    with capsys.disabled():
        print(f"\n[gateway memory] before 1 GiB: {before_kib / 1024:.1f} MiB RSS; peak after push+pull: {peak_mib:.1f} MiB")
    assert peak_mib < before_kib / 1024 + 64, f"gateway memory grew to {peak_mib:.0f} MiB while streaming 1 GiB"


# --- a push that fails after the intent leaves the hub as it was -------------------------
def test_a_failed_first_publish_through_the_hub_keeps_the_name_for_its_secret_holder(hub, hubpush_env, make_executor, gateway, tmp_path):
    """Its blobs may already sit in the registry, which cannot list or delete them: freeing the NAME
    would hand them, private layers included, to whoever claimed it next."""
    folder, name = make_executor()
    repository = repository_for(name)
    with FaultyRegistryProxy(gateway.address, refuse_blob_uploads_to=repository) as proxy:
        failed = hub("push", folder, "--private", env={"HUBPUSH_REGISTRY": proxy.address})
    assert failed.exit_code == 34, failed.stderr
    assert f"The name {name!r} is reserved for you" in failed.stderr and "--force-update" in failed.stderr, failed.stderr
    kept = gateway.registry.metadata(repository)
    assert kept is not None and kept["visibility"] == "private" and gateway.registry.tags(repository) in (None, [])
    # someone else (another machine: no cached secret) cannot claim the NAME
    claim = hub("push", folder, env={"HUBPUSH_CONFIG_DIR": str(tmp_path / "someone-else")})
    assert claim.exit_code == 21 and "already exists" in claim.stderr, claim.stderr
    # the owner resumes with the secret cached under the address it pushed to (here: the proxy's)
    secret = SecretStore(Path(hubpush_env["HUBPUSH_CONFIG_DIR"])).get(proxy.address, repository)
    assert secret
    resumed = push_ok(hub, folder, "--force-update", name, "--secret", secret)
    assert resumed["first_publish"] is False and resumed["visibility"] == "private"


def test_a_failed_update_through_the_hub_restores_the_metadata(hub, make_executor, gateway):
    out, repository = publish(hub, make_executor)
    before = gateway.registry.manifest(f"hubpush-meta/{repository}", "current")[0]
    folder, _ = make_executor(name=out["name"], files={"changed.txt": "changed\n"})
    with FaultyRegistryProxy(gateway.address, refuse_blob_uploads_to=repository) as proxy:
        failed = hub(
            "push", folder, "--force-update", out["name"], "--secret", out["secret"], "--private", "--protected-tag", "v9",
            env={"HUBPUSH_REGISTRY": proxy.address},
        )  # fmt: skip
    assert failed.exit_code == 34 and "metadata is back as it was" in failed.stderr, failed.stderr
    assert gateway.registry.manifest(f"hubpush-meta/{repository}", "current")[0] == before
    meta = gateway.registry.metadata(repository)
    assert meta["visibility"] == "public" and meta["protected_tags"] == []


# --- another real client: oras ------------------------------------------------------------
def test_oras_pushes_and_pulls_an_artifact_through_the_hub_with_the_token_flow(hub, make_executor, gateway, tmp_path, monkeypatch):
    import oras.client

    out, repository = publish(hub, make_executor, "--private")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # oras-py keeps its login in ~/.docker/config.json
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    target = f"{gateway.address}/{repository}:weights"

    anonymous = oras.client.OrasClient(hostname=gateway.address, insecure=True)
    with pytest.raises(Exception, match="UNAUTHORIZED"):
        anonymous.push(target=target, files=["model.bin"])
    assert gateway.registry.tags(repository) == ["latest"]

    owner = oras.client.OrasClient(hostname=gateway.address, insecure=True)
    owner.login(username=out["name"], password=out["secret"], hostname=gateway.address)
    assert owner.push(target=target, files=["model.bin"]).status_code == 201
    assert gateway.registry.tags(repository) == ["latest", "weights"]
    assert "weights" in gateway.registry.metadata(repository)["tags"]  # recorded like any tag
    pulled = owner.pull(target=target, outdir=str(tmp_path / "pulled"))
    assert [Path(path).read_bytes() for path in pulled] == [(tmp_path / "model.bin").read_bytes()]

    (tmp_path / "home" / ".docker" / "config.json").unlink()  # forget the login
    stranger = oras.client.OrasClient(hostname=gateway.address, insecure=True)
    with pytest.raises(Exception, match="Unauthorized|401"):
        stranger.pull(target=target, outdir=str(tmp_path / "stolen"))
    assert not (tmp_path / "stolen").exists() or not any((tmp_path / "stolen").iterdir())


# --- redirects: blob downloads offloaded to storage pass through untouched ---------------
class StorageServer:
    """Serves the registry's storage folder over HTTP, as object storage or a CDN would."""

    def __init__(self, root) -> None:
        import functools
        import threading
        from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

        served: list[str] = []
        self.served = served

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                served.append(self.path)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.url = f"http://localhost:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_blob_redirects_from_the_registry_reach_docker_untouched(hub, make_executor, docker_client, docker_cli, tmp_path):
    from tests.conftest import Registry, free_port, remove_local_images

    storage = tmp_path / "storage"
    storage.mkdir()
    server = StorageServer(storage)
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\nhttp:\n  addr: :5000\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\n"
        f"middleware:\n  storage:\n    - name: redirect\n      options:\n        baseurl: {server.url}\n"
    )
    port = free_port()
    container = docker_client.containers.run(
        "registry:2", detach=True, ports={"5000/tcp": ("127.0.0.1", port)},
        volumes={str(storage): {"bind": "/var/lib/registry", "mode": "rw"}, str(config): {"bind": "/etc/docker/registry/config.yml", "mode": "ro"}},
    )  # fmt: skip
    try:
        behind = Registry(f"localhost:{port}", container)
        for _ in range(50):
            try:
                if requests.get(f"{behind.url}/v2/", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        with running_gateway(behind, tmp_path) as redirected:
            folder, name = make_executor()
            out = push_ok(hub, folder, env={"HUBPUSH_REGISTRY": redirected.address})
            repository = repository_for(name)
            _, manifest = behind.manifest(repository, "latest")
            layer = manifest["layers"][-1]["digest"]
            answer = requests.get(f"{redirected.url}/v2/{repository}/blobs/{layer}", allow_redirects=False, timeout=10)
            assert answer.status_code == 307 and answer.headers["Location"].startswith(server.url)  # not rewritten
            served_before = len(server.served)
            reference = f"{redirected.address}/{repository}:latest"
            docker_client.images.remove(reference, force=True)
            pulled = docker_cli("pull", reference)
            assert pulled.exit_code == 0 and out["digest"] in pulled.stdout, pulled.stderr
            assert len(server.served) > served_before  # the engine fetched blobs from storage directly
            remove_local_images(docker_client, redirected.address)
    finally:
        container.remove(force=True)
        server.close()


def test_encoded_paths_cannot_smuggle_another_repository_past_the_checks(hub, make_executor, gateway):
    out, repository = publish(hub, make_executor, "--private")
    for path in [f"/v2/x%2F..%2F{repository}/manifests/latest", f"/v2/{repository}%2Fmanifests/latest", "/v2/hubpush%2Dmeta/x/manifests/current"]:
        response = requests.get(f"{gateway.url}{path}", timeout=10)
        assert response.status_code in (403, 404) and out["digest"] not in response.text, path


def test_an_abort_never_takes_back_protection_once_anything_happened_after_the_intent(hub, make_executor, gateway):
    out, repository = publish(hub, make_executor, "--protected-tag", "v1")
    auth = (out["name"], out["secret"])
    api = f"{gateway.url}/hubpush/v1/executors/{repository}"

    def begin(tag: str) -> dict:
        body = {"name": out["name"], "is_update": True, "tags": [], "protected_tags": [tag], "dry_run": False}
        answer = requests.post(f"{api}/push", json=body, auth=auth, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()["restore"]

    def abort(restore: dict) -> requests.Response:
        return requests.post(f"{api}/abort", json=restore, auth=auth, timeout=30)

    # a tag pushed after the intent: the intent is no longer current, nothing is undone
    restore = begin("v2")
    raw = requests.get(f"{gateway.registry.url}/v2/{repository}/manifests/v1", headers={"Accept": MANIFEST_ACCEPT}, timeout=10)
    put = requests.put(
        f"{gateway.url}/v2/{repository}/manifests/v2", data=raw.content, headers={"Content-Type": raw.headers["Content-Type"]}, auth=auth, timeout=10
    )
    assert put.status_code == 201, put.text
    assert abort(restore).json() == {"restored": False}
    assert set(gateway.registry.metadata(repository)["protected_tags"]) == {"v1", "v2"}

    # two intents: the first one's abort must not drop the second one's protection
    first, second = begin("v3"), begin("v4")
    assert abort(first).json() == {"restored": False}
    assert {"v3", "v4"} <= set(gateway.registry.metadata(repository)["protected_tags"])
    # a restore point the hub did not hand out is refused
    forged = {**second, "previous": first["previous"]}
    assert abort(forged).status_code == 400
    # the genuine one, right after its own intent, does undo it
    assert abort(second).json() == {"restored": True}
    assert "v4" not in gateway.registry.metadata(repository)["protected_tags"]
    # and an anonymous caller cannot ask at all
    assert requests.post(f"{api}/abort", json=second, timeout=30).status_code == 401

    # a protected tag that reached the registry although the metadata never recorded it (the gateway's
    # record failed after the registry took the manifest; simulated by writing behind the gateway)
    third = begin("v5")
    direct = requests.put(
        f"{gateway.registry.url}/v2/{repository}/manifests/v5", data=raw.content, headers={"Content-Type": raw.headers["Content-Type"]}, timeout=10
    )
    assert direct.status_code == 201
    assert abort(third).json() == {"restored": False}
    assert "v5" in gateway.registry.metadata(repository)["protected_tags"]


def test_behind_a_tls_proxy_upload_urls_name_the_public_address_never_the_registry(hub, make_executor, gateway):
    out, repository = publish(hub, make_executor)
    started = requests.post(
        f"{gateway.url}/v2/{repository}/blobs/uploads/",
        auth=(out["name"], out["secret"]),
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hub.example.com"},
        timeout=10,
    )
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    assert location.startswith(f"https://{gateway.address}/v2/{repository}/blobs/uploads/"), location
    assert gateway.registry.address not in location


def test_publishing_a_private_executor_says_how_to_pull_it_with_the_secret(hub, make_executor, gateway):
    folder, name = make_executor()
    result = hub("push", "--private", folder)
    assert result.exit_code == 0, result.stderr
    assert f"hubpush pull {name} -t latest --registry {gateway.address}" in result.stdout
    assert f"docker login {gateway.address} -u {name}" in result.stdout
    assert "Warning" not in result.stderr  # the hub enforces 'private': nothing to warn about


def test_executors_under_a_namespace_work_through_the_hub(hub, make_executor, gateway, docker_cli, docker_client):
    folder, name = make_executor()
    address = f"{gateway.address}/team-a"
    out = push_ok(hub, folder, "--private", env={"HUBPUSH_REGISTRY": address})
    repository = f"team-a/{repository_for(name)}"
    assert gateway.registry.manifest(repository, "latest")[0] == out["digest"]
    assert gateway.registry.metadata_at(f"team-a/hubpush-meta/{repository_for(name)}")["name"] == name
    reference = f"{gateway.address}/{repository}:latest"
    docker_client.images.remove(reference, force=True)
    assert docker_cli("pull", reference).exit_code != 0
    login = docker_cli("login", gateway.address, "-u", f"team-a/{name}", "--password-stdin", stdin=out["secret"])
    assert login.exit_code == 0, login.stderr
    pulled = docker_cli("pull", reference)
    assert pulled.exit_code == 0 and out["digest"] in pulled.stdout, pulled.stderr


def test_replicas_sharing_the_token_key_accept_each_others_tokens(hub, make_executor, gateway, tmp_path):
    out, repository = publish(hub, make_executor, "--private")
    key = "replica-key-" + "0123456789abcdef" * 3
    with running_gateway(gateway.registry, tmp_path, token_key=key) as first, running_gateway(
        gateway.registry, tmp_path, token_key=key
    ) as second, running_gateway(gateway.registry, tmp_path) as stranger:
        answer = requests.get(
            f"{first.url}/hubpush/v1/token",
            params={"service": "hubpush", "scope": f"repository:{repository}:pull"},
            auth=(out["name"], out["secret"]),
            timeout=30,
        )
        token = answer.json()["token"]
        headers = {"Authorization": f"Bearer {token}", "Accept": MANIFEST_ACCEPT}
        assert requests.get(f"{second.url}/v2/{repository}/manifests/latest", headers=headers, timeout=10).status_code == 200
        assert requests.get(f"{stranger.url}/v2/{repository}/manifests/latest", headers=headers, timeout=10).status_code == 401
        assert out["secret"] not in token  # a token never carries the secret


# --- found by the security review: reproduced against the real gateway, now refused ---------
def _raw(gateway, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    """Send ``path`` byte for byte (requests would drop a '#' or normalize '%2E')."""
    import http.client

    host, port = gateway.address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.read()


def test_a_fragment_cannot_smuggle_a_protected_tag_past_the_check(hub, make_executor, gateway):
    import base64

    out, repository = publish(hub, make_executor, "--protected-tag", "1.0")
    digest = gateway.registry.manifest(repository, "1.0")[0]
    other = requests.get(f"{gateway.registry.url}/v2/{repository}/manifests/latest", headers={"Accept": MANIFEST_ACCEPT}, timeout=10)
    auth = base64.b64encode(f"{out['name']}:{out['secret']}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}", "Content-Type": other.headers["Content-Type"]}
    status, _ = _raw(gateway, "PUT", f"/v2/{repository}/manifests/1.0#x", other.content, headers)
    assert status == 404
    assert gateway.registry.manifest(repository, "1.0")[0] == digest
    assert "1.0#x" not in gateway.registry.metadata(repository)["tags"]


def test_a_mount_sent_as_a_form_body_cannot_copy_private_blobs(hub, make_executor, gateway):
    _, private_repo = publish(hub, make_executor, "--private")
    public, public_repo = publish(hub, make_executor)
    _, manifest = gateway.registry.manifest(private_repo, "latest")
    secret_layer = manifest["layers"][-1]["digest"]  # the executor's own files
    auth = (public["name"], public["secret"])
    upload = f"{gateway.url}/v2/{public_repo}/blobs/uploads/"
    form = requests.post(upload, data={"mount": secret_layer, "from": private_repo}, auth=auth, timeout=10)
    assert form.status_code == 415
    multipart = requests.post(upload, files={"mount": (None, secret_layer), "from": (None, private_repo)}, auth=auth, timeout=10)
    assert multipart.status_code == 415
    twice = requests.post(f"{upload}?mount={secret_layer}&from={public_repo}&from={private_repo}", auth=auth, timeout=10)
    assert twice.status_code == 400 and "more than once" in twice.text  # a repeated parameter is never guessed at
    assert requests.head(f"{gateway.registry.url}/v2/{public_repo}/blobs/{secret_layer}", timeout=10).status_code == 404


def test_dot_segments_in_the_hub_api_cannot_reach_another_executor(hub, make_executor, gateway):
    _, private_repo = publish(hub, make_executor, "--private")
    for path in [f"/hubpush/v1/executors/{private_repo}/x/%2E%2E", f"/hubpush/v1/executors/{private_repo}/x/.."]:
        status, body = _raw(gateway, "GET", path)
        assert status in (401, 404) and b"registry_tags" not in body, path


def test_many_namespaces_do_not_pile_up_connections_in_the_gateway(gateway):
    import os as _os

    def open_files() -> int:
        return len(_os.listdir(f"/proc/{gateway.process.pid}/fd"))

    before = open_files()
    for number in range(300):
        requests.get(f"{gateway.url}/v2/ns{number}/x/manifests/latest", timeout=10)
    assert open_files() < before + 30


def test_a_private_executor_with_several_tags_publishes_through_the_hub(hub, make_executor, gateway):
    """The second tag is a manifest PUT after a GET of the first: the GET's pull token lacks the push scope, the
    gateway answers 403 insufficient_scope, and the client fetches a push token (it stopped at that 403 before)."""
    out, repository = publish(hub, make_executor, "--private", "--tag", "v1", "--protected-tag", "stable")
    assert sorted(out["tags"]) == ["stable", "v1"]
    assert sorted(gateway.registry.tags(repository)) == ["stable", "v1"]
    assert gateway.registry.metadata(repository)["protected_tags"] == ["stable"]
