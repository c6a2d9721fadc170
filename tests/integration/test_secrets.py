"""An executor's SECRET never leaks: one test for each place it could end up.

Each test runs against a real first publish and a real update, through the hub gateway and
against a bare registry, with ``--verbose`` and the human output (the one that shows the
SECRET, once, on a first publish). The update runs with the secret cache *inside* the
executor folder, the worst place a user could keep it. What is checked is read with other
clients than hubpush: the docker engine, the registry's HTTP API, the gateway's own log file.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from hubpush.core.names import repository_for
from hubpush.core.secrets import unb64url
from tests.conftest import TEST_BASE_IMAGE, CliResult, Registry, run_cli, unique_name

from .faulty_registry import FaultyRegistryProxy

DOCKERFILE = f"FROM {TEST_BASE_IMAGE}\nCOPY . /workdir/\n"  # everything the context holds lands in a layer
#: where the update keeps its secret cache: a folder inside the executor folder, as a careless user might
CACHE_IN_FOLDER = "hubpush-cache"


@dataclass
class Published:
    """A first publish and an update of one private executor, both with ``--verbose`` and human output."""

    name: str
    repository: str
    secret: str
    address: str
    registry: Registry
    folder: Path
    env: dict[str, str]
    first: CliResult
    update: CliResult

    def cli(self, *args: object, **env: str) -> CliResult:
        return run_cli({**self.env, **env}, *args, timeout=300)

    @property
    def tags(self) -> list[str]:
        return ["latest", "v2"]


def executor(root: Path, prefix: str, registry: str, config_dir: Path | None = None) -> tuple[Path, str, dict[str, str]]:
    """A folder with its own Dockerfile, its NAME, and a CLI environment for ``registry`` with the cache at ``config_dir``
    (default: inside the folder, so that every build context after the first publish could hold it)."""
    name = unique_name(prefix)
    folder = root / name
    folder.mkdir()
    (folder / "config.yml").write_text(f"jtype: {name}\npy_modules:\n  - executor.py\nmetas:\n  name: {name}\n")
    (folder / "executor.py").write_text("# code\n")
    (folder / "Dockerfile").write_text(DOCKERFILE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBPUSH_")}
    env.update(HUBPUSH_REGISTRY=registry, HUBPUSH_CONFIG_DIR=str(config_dir or folder / CACHE_IN_FOLDER), COLUMNS="200")
    return folder, name, env


def publish_and_update(address: str, registry: Registry, root: Path) -> Published:
    folder, name, env = executor(root, "Secret", address)
    first = run_cli(env, "push", "--verbose", "--private", folder, timeout=300)
    assert first.exit_code == 0, first.stderr + first.stdout
    secret = json.loads((folder / CACHE_IN_FOLDER / "secrets.json").read_text())[f"{address}/{repository_for(name)}"]
    (folder / "changed.txt").write_text("an update\n")
    update = run_cli(env, "push", "--verbose", "--force-update", name, "-t", "v2", folder, timeout=300)
    assert update.exit_code == 0, update.stderr + update.stdout
    return Published(name, repository_for(name), secret, address, registry, folder, env, first, update)


@pytest.fixture(scope="module")
def through_hub(gateway, tmp_path_factory) -> Published:
    return publish_and_update(gateway.address, gateway.registry, tmp_path_factory.mktemp("secret-hub"))


@pytest.fixture(scope="module")
def on_bare_registry(registry, tmp_path_factory) -> Published:
    return publish_and_update(registry.address, registry, tmp_path_factory.mktemp("secret-bare"))


@pytest.fixture(params=["hub", "bare-registry"])
def published(request) -> Published:
    return request.getfixturevalue("through_hub" if request.param == "hub" else "on_bare_registry")


def forms_of(published: Published) -> list[str]:
    """The secret as it could be written anywhere: plain, and inside a Basic auth header."""
    basic = base64.b64encode(f"{published.name}:{published.secret}".encode()).decode()
    return [published.secret, basic, published.secret[:16]]  # a prefix too: a cut secret is still a leak


def assert_absent(text: str | bytes, published: Published, where: str) -> None:
    data = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
    for form in forms_of(published):
        assert form.encode() not in data, f"the secret appears in {where}"


# --- the CLI's output -----------------------------------------------------------------------
def test_the_secret_is_shown_once_on_first_publish_and_never_in_verbose_logs(published):
    first = published.first.stdout + published.first.stderr
    assert first.count(published.secret) == 1, first  # the SECRET row, nothing else
    assert published.secret not in published.first.stderr  # the verbose build and push log is on stderr
    assert_absent(published.update.stdout + published.update.stderr, published, "the update's verbose output")
    assert "Step 1/" in published.update.stderr or "FROM" in published.update.stderr  # it was verbose indeed


def test_the_secret_is_not_in_push_json_of_an_update(published):
    again = published.cli("push", "--json", "--force-update", published.name, published.folder)
    assert again.exit_code == 0, again.stderr
    assert again.json.get("secret") is None
    assert_absent(again.stdout + again.stderr, published, "an update's --json output")


# --- failures -------------------------------------------------------------------------------
def test_a_push_failing_after_its_intent_says_nothing_of_the_secret(published):
    with FaultyRegistryProxy(published.address, refuse_blob_uploads_to=published.repository) as proxy:
        (published.folder / "changed.txt").write_text("an update that fails\n")
        failed = published.cli("push", "--verbose", "--force-update", published.name, "--secret", published.secret, "-t", "v3",
                               published.folder, HUBPUSH_REGISTRY=proxy.address)  # fmt: skip
    assert proxy.refused > 0 and failed.exit_code == 34, failed.stderr
    assert_absent(failed.stdout + failed.stderr, published, "a failed push's output")
    assert "Traceback" not in failed.stderr


def test_a_wrong_secret_is_refused_without_echoing_it_or_the_right_one(published):
    # a near miss: the one a user mistyped, which says much of the real one
    near_miss = published.secret[:-1] + ("A" if published.secret[-1] != "A" else "B")
    refused = published.cli("push", "--verbose", "--force-update", published.name, "--secret", near_miss, published.folder)
    assert refused.exit_code == 23, refused.stderr
    assert near_miss[:16] not in refused.stdout + refused.stderr
    assert_absent(refused.stdout + refused.stderr, published, "a wrong-secret refusal")


def test_the_gateways_refusals_of_a_wrong_secret_echo_neither(through_hub):
    near_miss = through_hub.secret[:-1] + ("A" if through_hub.secret[-1] != "A" else "B")
    url = f"http://{through_hub.address}"
    answers = [
        requests.get(f"{url}/v2/{through_hub.repository}/manifests/latest", auth=(through_hub.name, near_miss), timeout=10),
        requests.get(f"{url}/hubpush/v1/token", params={"scope": f"repository:{through_hub.repository}:pull"},
                     auth=(through_hub.name, near_miss), timeout=10),
        requests.get(f"{url}/hubpush/v1/executors/{through_hub.repository}", auth=(through_hub.name, near_miss), timeout=10),
    ]  # fmt: skip
    for answer in answers:
        assert answer.status_code in (401, 403), answer.text
        assert near_miss[:16] not in answer.text and through_hub.secret[:16] not in answer.text
        assert near_miss[:16] not in str(answer.headers)


# --- the gateway's log ----------------------------------------------------------------------
def test_the_secret_never_reaches_the_gateways_log(through_hub, gateway):
    requests.get(
        f"http://{through_hub.address}/v2/{through_hub.repository}/tags/list",
        auth=(through_hub.name, through_hub.secret),
        timeout=10,
    )
    log = gateway.log.read_bytes()
    assert f"/v2/{through_hub.repository}/".encode() in log  # the log does record these requests
    assert_absent(log, through_hub, "the gateway's log")


# --- the image ------------------------------------------------------------------------------
def test_the_secret_is_in_no_image_label_nor_anywhere_the_engine_describes_the_image(published):
    for tag in published.tags:
        inspected = subprocess.run(
            ["docker", "image", "inspect", f"{published.address}/{published.repository}:{tag}"], capture_output=True, text=True
        )
        assert inspected.returncode == 0, inspected.stderr
        labels = json.loads(inspected.stdout)[0]["Config"]["Labels"]
        assert any(key.startswith("org.opencontainers") for key in labels)  # labels were set
        assert_absent(inspected.stdout, published, f"docker inspect of {tag}")
        history = subprocess.run(["docker", "history", "--no-trunc", f"{published.address}/{published.repository}:{tag}"],
                                 capture_output=True, text=True)  # fmt: skip
        assert_absent(history.stdout, published, f"the build history of {tag}")


def registry_blobs(registry: Registry, repository: str, reference: str) -> Iterator[tuple[str, bytes]]:
    """The manifest, the config and every layer (decompressed) as the registry serves them."""
    digest, manifest = registry.manifest(repository, reference)
    yield digest, json.dumps(manifest).encode()
    for descriptor in [manifest["config"], *manifest.get("layers", [])]:
        blob = registry.blob(repository, descriptor["digest"])
        yield descriptor["digest"], gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob


def test_the_secret_is_in_no_layer_even_with_the_cache_inside_the_folder(published):
    cache = published.folder / CACHE_IN_FOLDER / "secrets.json"
    assert published.secret in cache.read_text()  # the update's build context would have held it
    seen_files = False
    for tag in published.tags:
        for digest, data in registry_blobs(published.registry, published.repository, tag):
            seen_files = seen_files or b"executor.py" in data
            assert_absent(data, published, f"blob {digest} of {tag}")
    assert seen_files  # the folder's files did land in a layer: the check looked at the right bytes


def test_the_cache_is_left_out_even_when_it_is_the_executor_folder_itself(registry, tmp_path):
    """HUBPUSH_CONFIG_DIR pointing at the folder: secrets.json sits at the context's root."""
    folder, name, env = executor(tmp_path, "SecretRoot", registry.address)
    env["HUBPUSH_CONFIG_DIR"] = str(folder)
    first = run_cli(env, "push", "--json", folder)
    assert first.exit_code == 0, first.stderr
    secret = first.json["secret"]
    assert secret in (folder / "secrets.json").read_text()
    update = run_cli(env, "push", "--json", "--force-update", name, "-t", "v2", folder)
    assert update.exit_code == 0, update.stderr
    layers = b"".join(data for _, data in registry_blobs(registry, repository_for(name), "v2"))
    assert b"config.yml" in layers  # the folder's files did land in a layer
    assert b"secrets.json" not in layers, "the secret cache entered the build context"
    assert secret.encode() not in layers


# --- the metadata ---------------------------------------------------------------------------
HASH_FORMAT = re.compile(r"scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)")


def test_the_metadata_holds_only_a_salted_scrypt_hash_with_the_documented_parameters(published):
    meta_repository = f"hubpush-meta/{published.repository}"
    for digest, data in registry_blobs(published.registry, meta_repository, "current"):
        assert_absent(data, published, f"metadata blob {digest}")
    stored = published.registry.metadata(published.repository)["secret_hash"]
    found = HASH_FORMAT.fullmatch(stored)
    assert found, stored
    n, r, p, salt, digest = int(found[1]), int(found[2]), int(found[3]), unb64url(found[4]), unb64url(found[5])
    assert (n, r, p, len(salt), len(digest)) == (2**14, 8, 1, 16, 32)  # docs/security.md, "Secrets at rest"
    # recomputed here with hashlib's scrypt, not hubpush's: the hash is exactly what the docs say
    assert hashlib.scrypt(published.secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 << 20, dklen=32) == digest


def test_two_executors_get_different_salts(through_hub, on_bare_registry):
    salts = {HASH_FORMAT.fullmatch(p.registry.metadata(p.repository)["secret_hash"])[4] for p in (through_hub, on_bare_registry)}
    assert len(salts) == 2


# --- the local cache --------------------------------------------------------------------------
def test_the_secret_cache_is_0600_in_a_private_folder_whatever_the_umask(registry, tmp_path):
    config = tmp_path / "home" / ".config" / "hubpush"  # does not exist yet: the CLI creates it
    folder, name, env = executor(tmp_path, "SecretMode", registry.address, config_dir=config)
    for args in (["push", "--json", str(folder)], ["push", "--json", "--force-update", name, "-t", "v2", str(folder)]):
        # umask 0: every file and folder would be world-writable unless hubpush sets the modes itself
        done = subprocess.run(["sh", "-c", 'umask 000 && exec "$0" -m hubpush "$@"', sys.executable, *args],
                              env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert stat.S_IMODE((config / "secrets.json").stat().st_mode) == 0o600
        assert stat.S_IMODE(config.stat().st_mode) == 0o700
    assert [p.name for p in config.iterdir()] == ["secrets.json"]  # no temporary copy left beside it


@pytest.mark.parametrize("wrong", ["sécrét" * 5, "秘密" * 12])
def test_a_secret_of_any_characters_is_merely_wrong(published, wrong):
    """Requests encoded Basic auth as Latin-1: CJK ended in exit 70 (UnicodeEncodeError), and the hub read
    Latin-1 bytes as no secret at all (exit 22, "needs its secret")."""
    refused = published.cli("push", "--force-update", published.name, "--secret", wrong, published.folder)
    assert refused.exit_code == 23, refused.stderr
    assert "is wrong" in refused.stderr and "Traceback" not in refused.stderr
