"""Load through the hub gateway: parallel first publishes and parallel pulls, every result checked by digest.

Real everything: the ``hubpush push`` CLI in subprocesses, the docker CLI, oras-py and plain HTTP
against a real gateway in front of a real registry:2. What the registry holds is read behind the
gateway's back, and every pulled manifest and blob is hashed and compared with the digest it was
asked by, so a mixed-up answer under load (another executor's manifest, a truncated blob) fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from hubpush.core.names import repository_for
from hubpush.core.secrets import verify_secret
from tests.conftest import MANIFEST_ACCEPT, TEST_BASE_IMAGE, Gateway, remove_local_images, run_cli, unique_name

pytestmark = pytest.mark.load

PUBLISHES = 8
PULLS = 50


def executor_folder(root: Path, name: str) -> Path:
    """A folder with its own Dockerfile on the tiny local base image, and content of its own (distinct layers)."""
    folder = root / name
    folder.mkdir()
    (folder / "config.yml").write_text(f"jtype: {name}\npy_modules:\n  - executor.py\nmetas:\n  name: {name}\n")
    (folder / "executor.py").write_text(f"# {name}\n")
    (folder / "payload.bin").write_bytes(os.urandom(64 << 10))
    (folder / "Dockerfile").write_text(f"FROM {TEST_BASE_IMAGE}\nCOPY . /workdir/\nWORKDIR /workdir\n")
    return folder


def first_publish(gateway: Gateway, root: Path, name: str, *flags: str) -> dict:
    """One real ``hubpush push --json`` with a secret cache of its own, as on its own machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBPUSH_")}
    env.update(HUBPUSH_CONFIG_DIR=str(root / f"config-{name}"), HUBPUSH_REGISTRY=gateway.address)
    result = run_cli(env, "push", "--json", *flags, executor_folder(root, name), timeout=300)
    assert result.exit_code == 0, result.stderr + result.stdout
    return result.json


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def api_pull(gateway: Gateway, repository: str, auth: tuple[str, str], expected: str) -> int:
    """Manifest and every blob through the gateway with Basic NAME:SECRET, each checked by digest; bytes read."""
    with requests.Session() as session:
        session.auth = auth
        answer = session.get(f"{gateway.url}/v2/{repository}/manifests/latest", headers={"Accept": MANIFEST_ACCEPT}, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.headers["Docker-Content-Digest"] == expected == sha256(answer.content)
        manifest = answer.json()
        size = len(answer.content)
        for descriptor in [manifest["config"], *manifest["layers"]]:
            blob = session.get(f"{gateway.url}/v2/{repository}/blobs/{descriptor['digest']}", timeout=60)
            assert blob.status_code == 200, blob.text
            assert sha256(blob.content) == descriptor["digest"] and len(blob.content) == descriptor["size"]
            size += len(blob.content)
    return size


def oras_pull(gateway: Gateway, repository: str, auth: tuple[str, str], expected: str, outdir: Path) -> int:
    """The same with oras-py's token flow: its manifest re-hashed as served, every blob downloaded and hashed."""
    import oras.client

    client = oras.client.OrasClient(hostname=gateway.address, insecure=True)
    client.auth.set_basic_auth(*auth)
    target = f"{gateway.address}/{repository}:latest"
    manifest = client.get_manifest(target, allowed_media_type=[MANIFEST_ACCEPT])
    raw = requests.get(
        f"{gateway.url}/v2/{repository}/manifests/{expected}", auth=auth, headers={"Accept": MANIFEST_ACCEPT}, timeout=60
    ).content
    assert sha256(raw) == expected and json.loads(raw) == manifest
    outdir.mkdir(parents=True)
    size = 0
    for descriptor in [manifest["config"], *manifest["layers"]]:
        path = Path(client.download_blob(target, descriptor["digest"], str(outdir / descriptor["digest"].split(":")[1])))
        assert sha256(path.read_bytes()) == descriptor["digest"]
        size += path.stat().st_size
    return size


def docker_pull(gateway: Gateway, image: str, expected: str, config: Path) -> int:
    """``docker pull`` as an anonymous user (the engine itself checks every blob's digest); the digest it reports."""
    done = subprocess.run(
        ["docker", "pull", image], env={**os.environ, "DOCKER_CONFIG": str(config)}, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert f"Digest: {expected}" in done.stdout, done.stdout
    inspected = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", image], capture_output=True, text=True
    )
    assert f"{image.rsplit(':', 1)[0]}@{expected}" in json.loads(inspected.stdout)
    return 1


def test_8_parallel_first_publishes_then_50_parallel_pulls_each_checked_by_digest(
    gateway, docker_client, tmp_path, record_property
):
    started = time.monotonic()
    names = [unique_name("Load") for _ in range(PUBLISHES)]
    private = set(names[PUBLISHES // 2 :])
    with ThreadPoolExecutor(max_workers=PUBLISHES) as pool:
        results = list(pool.map(lambda n: first_publish(gateway, tmp_path, n, *(["--private"] if n in private else [])), names))
    published = time.monotonic()

    secrets = set()
    for name, out in zip(names, results, strict=True):
        repository = repository_for(name)
        assert out["name"] == name and out["first_publish"] is True
        assert out["visibility"] == ("private" if name in private else "public")
        assert len(out["secret"]) >= 22
        secrets.add(out["secret"])
        # behind the gateway's back: the registry holds exactly the manifest the CLI printed
        assert gateway.registry.manifest(repository, "latest")[0] == out["digest"]
        meta = gateway.registry.metadata(repository)
        assert meta is not None and meta["name"] == name
        assert meta["tags"]["latest"]["digest"] == out["digest"]
        assert verify_secret(out["secret"], meta["secret_hash"])
    assert len(secrets) == PUBLISHES  # no two publishes handed out the same secret
    assert len({out["digest"] for out in results}) == PUBLISHES  # nor ended as one another's image

    remove_local_images(docker_client, gateway.address)  # the pulls must fetch, not find the pushed images
    by_name = dict(zip(names, results, strict=True))
    public = [n for n in names if n not in private]
    pulls = []
    for i in range(PULLS):
        if i % 4 == 0:  # 13 docker pulls, spread over the public executors
            name = public[i // 4 % len(public)]
            image = f"{gateway.address}/{repository_for(name)}:latest"
            config = tmp_path / f"docker-{i}"
            config.mkdir()
            pulls.append(lambda image=image, d=by_name[name]["digest"], c=config: docker_pull(gateway, image, d, c))
        else:  # the rest: private executors with their secrets, by the registry API and by oras-py
            name = sorted(private)[i % len(private)]
            auth, digest, repository = (name, by_name[name]["secret"]), by_name[name]["digest"], repository_for(name)
            if i % 4 == 1:
                pulls.append(lambda r=repository, a=auth, d=digest, o=tmp_path / f"oras-{i}": oras_pull(gateway, r, a, d, o))
            else:
                pulls.append(lambda r=repository, a=auth, d=digest: api_pull(gateway, r, a, d))
    with ThreadPoolExecutor(max_workers=PULLS) as pool:
        pulled = list(pool.map(lambda pull: pull(), pulls))
    assert len(pulled) == PULLS and all(pulled)
    # a private executor is still refused without its secret, load or not
    refused = requests.get(f"{gateway.url}/v2/{repository_for(sorted(private)[0])}/manifests/latest", timeout=10)
    assert refused.status_code == 401
    record_property("publish_seconds", round(published - started, 1))
    record_property("pull_seconds", round(time.monotonic() - published, 1))
