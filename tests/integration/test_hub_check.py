"""``hubpush hub check [--repair]`` with the real CLI, a real registry:2 (deletes enabled) and a real
gateway in front of it; the inconsistencies are made with the registry's own API, as a crashed push
or someone working around hubpush leaves them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests
from hubpush.oci.client import RegistryClient
from hubpush.oci.metadata_store import MetadataStore
from tests.conftest import TEST_BASE_IMAGE, CliResult, cli_publisher, running_gateway, running_registry, run_cli

pytestmark = pytest.mark.integration

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture(scope="module")
def hub(docker_client, tmp_path_factory):
    with running_registry(docker_client, REGISTRY_STORAGE_DELETE_ENABLED="true") as behind:
        with running_gateway(behind, tmp_path_factory.mktemp("gateway")) as gateway:
            yield gateway


def cli_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBPUSH_")}
    # HOME too: no local hub of this machine's user is found instead of the registry named
    env.update(HOME=str(home), HUBPUSH_CONFIG_DIR=str(home / "config"), HUBPUSH_BASE_IMAGE=TEST_BASE_IMAGE)
    return env


def check(home: Path, address: str, *args: str) -> CliResult:
    result = run_cli(cli_env(home), "hub", "check", "--registry", address, *args, timeout=120)
    assert "Traceback" not in result.stdout + result.stderr
    return result


def edit_metadata(address: str, repository: str, change) -> None:
    store = MetadataStore(RegistryClient(address))
    metadata = store.read(repository)
    assert metadata is not None
    change(metadata)
    store.write(metadata)


def test_finds_and_repairs_what_is_safe_and_nothing_else(hub, tmp_path):
    behind = hub.registry
    publish = cli_publisher(hub.address, tmp_path)
    publish("--private")  # the gateway hides it; the check reads the registry behind it, and sees it
    pushed, repo = publish("--tag", "v1", "--protected-tag", "stable")
    assert check(tmp_path, behind.address).exit_code == 0
    assert check(tmp_path, behind.address, "--json").json["executors"] >= 2
    registry = RegistryClient(behind.address)
    manifest = registry.get_manifest(repo, "v1")
    assert manifest is not None
    # a tag pushed around hubpush, and the intent of a protected tag that never landed
    registry.put_manifest(repo, "around", manifest.raw, manifest.media_type)
    edit_metadata(behind.address, repo, lambda m: m.protected_tags.append("v9"))
    # a tag recorded at a manifest the registry lost
    edit_metadata(behind.address, repo, lambda m: m.tags.update({"gone": m.tags["v1"].__class__("sha256:" + "0" * 64, m.updated_at)}))
    images_before = {t: registry.get_manifest(repo, t).digest for t in registry.list_tags(repo) or []}

    found = check(tmp_path, behind.address, "--json")

    assert found.exit_code == 44, found.stdout + found.stderr
    report = found.json
    assert {(f["kind"], f["tag"]) for f in report["remaining"]} == {
        ("tag-unrecorded", "around"), ("protected-tag-missing", "v9"), ("tag-missing", "gone"),
    }  # fmt: skip

    fixed = check(tmp_path, behind.address, "--repair", "--json")

    assert fixed.exit_code == 0, fixed.stdout
    assert len(fixed.json["repaired"]) == 3
    metadata = behind.metadata(repo)
    assert set(metadata["tags"]) == {"v1", "latest", "stable", "around"} - ({"latest"} - set(pushed["tags"]))
    assert metadata["protected_tags"] == ["stable"]  # the protection of a tag that exists stays
    assert any(h["tag"] == "around" for h in metadata["history"])
    # images are never touched
    assert {t: registry.get_manifest(repo, t).digest for t in registry.list_tags(repo) or []} == images_before
    assert check(tmp_path, behind.address).exit_code == 0
    # and the next push works
    name = pushed["name"]
    again = run_cli({**cli_env(tmp_path), "HUBPUSH_REGISTRY": hub.address}, "push", "--json", "--force-update", name, tmp_path / name, "--tag", "v2")
    assert again.exit_code == 0, again.stderr


def copy_image(address: str, source: str, target: str) -> str:
    """Put ``source:latest`` into a new repository ``target`` with the registry's API (blobs mounted, not sent): an image pushed around hubpush."""
    registry = RegistryClient(address)
    manifest = registry.get_manifest(source, "latest")
    document = json.loads(manifest.raw)
    for blob in [document["config"], *document["layers"]]:
        mounted = requests.post(f"http://{address}/v2/{target}/blobs/uploads/?mount={blob['digest']}&from={source}", timeout=10)
        assert mounted.status_code == 201, mounted.text
    registry.put_manifest(target, "latest", manifest.raw, manifest.media_type)
    return manifest.digest


def test_what_only_a_person_can_settle_is_reported_and_left_alone(hub, tmp_path):
    behind = hub.registry
    publish = cli_publisher(hub.address, tmp_path)
    _, source = publish()
    _, broken = publish()
    orphan = f"orphan-{source}"
    digest = copy_image(behind.address, source, orphan)
    registry = RegistryClient(behind.address)
    good = registry.get_manifest(f"hubpush-meta/{broken}", "current")
    document = b"{not json"
    blob = registry.push_blob(f"hubpush-meta/{broken}", document)
    raw = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST, "config": {"mediaType": "application/json", "digest": blob, "size": len(document)}, "layers": []})
    registry.put_manifest(f"hubpush-meta/{broken}", "current", raw.encode(), MANIFEST)
    before = behind.snapshot()

    result = check(tmp_path, behind.address, "--repair")

    assert result.exit_code == 44
    assert f"Image repository {orphan} has no hubpush metadata" in result.stdout
    assert f"hubpush-meta/{broken}:current is not valid" in result.stdout
    assert "fix:" in result.stdout
    assert behind.snapshot() == before
    # leave the shared registry consistent for the other tests of this module: an emptied repository is no problem
    assert registry.delete_manifest(orphan, digest)
    registry.put_manifest(f"hubpush-meta/{broken}", "current", good.raw, good.media_type)
    assert check(tmp_path, behind.address).exit_code == 0


def test_through_the_gateway_it_refuses_and_names_the_registry_behind(hub, tmp_path):
    result = check(tmp_path, hub.address)

    assert result.exit_code == 45
    assert "is a hub gateway" in result.stderr and "--upstream" in result.stderr


def test_an_unreachable_registry_is_exit_30(tmp_path):
    result = check(tmp_path, "localhost:9")

    assert result.exit_code == 30, result.stderr
    assert "localhost:9 cannot be reached" in result.stderr
