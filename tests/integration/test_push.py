"""`hubpush push` semantics against a real engine and a real registry:2.

Outcomes are checked with the registry's HTTP API and the Docker engine, never
with hubpush's own readers.
"""

from __future__ import annotations

import re


from hubpush.core.names import repository_for
from tests.conftest import push_ok, unique_name

from .faulty_registry import FaultyRegistryProxy
from hubpush.core.secrets import verify_secret

FAILING_DOCKERFILE = "FROM hubpush/busybox:latest\nRUN echo this-build-must-not-start && false\n"


# --- 1. first publish ------------------------------------------------------------------
def test_first_publish_returns_name_secret_and_lands_in_the_registry(hubpush, make_executor, registry, tmp_path):
    folder, name = make_executor()
    out = push_ok(hubpush, folder)
    repository = repository_for(name)
    assert out["name"] == name
    assert out["repository"] == f"{registry.address}/{repository}"
    assert out["first_publish"] is True and out["visibility"] == "public"
    assert out["tags"] == ["latest"] and out["image_references"] == [f"{registry.address}/{repository}:latest"]
    assert len(out["secret"]) >= 22  # >= 128 bits, url-safe base64
    # the registry itself holds the tag, at the digest reported
    assert registry.tags(repository) == ["latest"]
    assert registry.manifest(repository, "latest")[0] == out["digest"]
    # metadata: name, a salted hash of the secret (never the secret itself)
    meta = registry.metadata(repository)
    assert meta["name"] == name and meta["visibility"] == "public"
    assert out["secret"] not in str(meta)
    assert verify_secret(out["secret"], meta["secret_hash"])
    assert meta["tags"]["latest"]["digest"] == out["digest"]
    assert meta["tags"]["latest"]["pushed_at"].endswith("Z")


def test_human_output_shows_name_secret_visibility_references_and_usage(hubpush, make_executor, registry):
    folder, name = make_executor()
    result = hubpush("push", folder)
    assert result.exit_code == 0, result.stderr
    repository = repository_for(name)
    for expected in [name, "SECRET", "Keep it safe", "public", f"{registry.address}/{repository}:latest",
                     f"docker pull {registry.address}/{repository}:latest", f"uses: docker://{registry.address}/{repository}:latest"]:  # fmt: skip
        assert expected in result.stdout, expected
    assert f"(repository {registry.address}/{repository})" in result.stdout  # NAME and repository side by side


def test_name_comes_from_legacy_manifest_when_config_has_none(hubpush, make_executor, registry):
    folder, _ = make_executor(config="jtype: LegacyExec\n", files={"manifest.yml": "name: LegacyHubExec\n"})
    out = push_ok(hubpush, folder, "-t", "legacy")
    assert out["name"] == "LegacyHubExec"
    assert registry.tags("legacy-hub-exec") is not None


def test_mixed_case_name_maps_to_a_valid_repository(hubpush, make_executor, registry):
    folder, name = make_executor(name=unique_name("TagsHasher"))
    out = push_ok(hubpush, folder)
    assert out["repository"].split("/", 1)[1] == repository_for(name)
    assert re.fullmatch(r"[a-z0-9-]+", repository_for(name)) and repository_for(name).startswith("tags-hasher")


# --- 2. visibility ------------------------------------------------------------------------
def test_visibility_private_kept_on_update_changed_only_by_a_flag(hubpush, make_executor, registry):
    folder, name = make_executor()
    repository = repository_for(name)
    first = push_ok(hubpush, folder, "--private")
    assert first["visibility"] == "private" and registry.metadata(repository)["visibility"] == "private"
    assert "does not enforce it" in first["warnings"][0]  # honest about a bare registry
    secret = first["secret"]
    assert push_ok(hubpush, folder, "--force-update", name, "--secret", secret)["visibility"] == "private"
    assert registry.metadata(repository)["visibility"] == "private"
    assert push_ok(hubpush, folder, "--force-update", name, "--secret", secret, "--public")["visibility"] == "public"
    assert registry.metadata(repository)["visibility"] == "public"


# --- 3. update ------------------------------------------------------------------------------
def test_force_update_with_secret_overrides_the_image(hubpush, make_executor, registry):
    folder, name = make_executor()
    first = push_ok(hubpush, folder)
    (folder / "executor.py").write_text("# changed code\n")
    second = push_ok(hubpush, folder, "--force-update", name, "--secret", first["secret"])
    assert "secret" not in second and second["first_publish"] is False
    assert second["digest"] != first["digest"]
    assert registry.manifest(repository_for(name), "latest")[0] == second["digest"]
    history = registry.metadata(repository_for(name))["history"]
    assert [h["digest"] for h in history] == [first["digest"], second["digest"]]


def test_wrong_secret_is_refused_before_any_build_and_nothing_changes(hubpush, refused, make_executor):
    folder, name = make_executor()
    push_ok(hubpush, folder)
    (folder / "Dockerfile").write_text(FAILING_DOCKERFILE)  # a build would fail with exit 33
    result = refused("push", folder, "--force-update", name, "--secret", "not-the-secret", code=23, says="secret given for executor")
    assert "not-the-secret" not in result.stderr
    assert "this-build-must-not-start" not in result.stdout + result.stderr


def test_cached_secret_makes_force_update_name_alone_work_from_another_folder(hubpush, make_executor, registry):
    folder, name = make_executor()
    first = push_ok(hubpush, folder)
    other_copy, _ = make_executor(name=name)  # a different folder with the same executor
    out = push_ok(hubpush, other_copy, "--force-update", name, "-t", "from-cache")
    assert out["tags"] == ["from-cache"]
    assert registry.tags(repository_for(name)) == ["from-cache", "latest"]
    assert first["secret"] not in str(out)


def test_secret_from_the_environment_for_ci(hubpush, make_executor, registry, tmp_path):
    folder, name = make_executor()
    secret = push_ok(hubpush, folder)["secret"]
    ci = {"HUBPUSH_CONFIG_DIR": str(tmp_path / "ci-runner"), "HUBPUSH_SECRET": secret}
    assert push_ok(hubpush, folder, "--force-update", name, "-t", "ci", env=ci)["tags"] == ["ci"]
    other, _ = make_executor()
    assert push_ok(hubpush, other, env=ci)["first_publish"] is True  # the variable never blocks a first publish


def test_force_update_without_secret_on_another_machine_is_refused(hubpush, refused, make_executor, tmp_path):
    folder, name = make_executor()
    push_ok(hubpush, folder)
    refused("push", folder, "--force-update", name, env={"HUBPUSH_CONFIG_DIR": str(tmp_path / "elsewhere")}, code=22, says="--secret")


def test_force_update_of_unknown_name(refused, make_executor):
    folder, _ = make_executor()
    refused("push", folder, "--force-update", "NoSuchExecutor", "--secret", "x", code=20, says="No executor named 'NoSuchExecutor'")


def test_first_publish_of_a_taken_name_is_refused_with_the_update_command(hubpush, refused, make_executor, tmp_path):
    folder, name = make_executor()
    push_ok(hubpush, folder)
    refused("push", folder, env={"HUBPUSH_CONFIG_DIR": str(tmp_path / "someone-else")}, code=21, says=f"--force-update {name} --secret SECRET")


# --- 4. tags ----------------------------------------------------------------------------------
def test_explicit_tags_are_exactly_the_ones_named_and_share_one_digest(hubpush, make_executor, registry):
    folder, name = make_executor()
    out = push_ok(hubpush, folder, "-t", "v1", "-t", "stable", "-t", "2024.1")
    repository = repository_for(name)
    assert registry.tags(repository) == ["2024.1", "stable", "v1"]  # no latest
    digests = {registry.manifest(repository, t)[0] for t in ["v1", "stable", "2024.1"]}
    assert digests == {out["digest"]}


def test_layers_are_uploaded_once_however_many_tags(hubpush, make_executor, fresh_registry, hubpush_env):
    folder, name = make_executor()
    repository = repository_for(name)
    result = hubpush("push", "--json", folder, *[a for t in ["a", "b", "c", "d"] for a in ("-t", t)],
                     env={"HUBPUSH_REGISTRY": fresh_registry.address})  # fmt: skip
    assert result.exit_code == 0, result.stderr
    _, manifest = fresh_registry.manifest(repository, "a")
    blobs = 1 + len(manifest["layers"])  # config + layers
    uploads = re.findall(rf'"POST /v2/{re.escape(repository)}/blobs/uploads/', fresh_registry.logs())
    assert len(uploads) == blobs, f"{len(uploads)} uploads for {blobs} blobs"
    assert fresh_registry.tags(repository) == ["a", "b", "c", "d"]


def test_a_new_tag_can_be_added_to_an_existing_executor(hubpush, make_executor, registry):
    folder, name = make_executor()
    first = push_ok(hubpush, folder, "-t", "v1")
    out = push_ok(hubpush, folder, "--force-update", name, "--secret", first["secret"], "-t", "v2")
    repository = repository_for(name)
    assert registry.tags(repository) == ["v1", "v2"]
    assert set(registry.metadata(repository)["tags"]) == {"v1", "v2"}
    assert out["tags"] == ["v2"]


def test_invalid_tag_is_refused_before_anything(refused, make_executor):
    folder, _ = make_executor(files={"Dockerfile": FAILING_DOCKERFILE})  # a started build would end in exit 33
    refused("push", folder, "-t", "ok", "-t", "not/valid", code=15, says="'not/valid'")
    refused("push", folder, "-t", "v1\n", code=15, says="is not valid")


def test_force_update_under_another_spelling_keeps_the_recorded_name(hubpush, make_executor, registry):
    folder, name = make_executor(name=unique_name("TagsHasher"))
    push_ok(hubpush, folder)
    snake = repository_for(name).replace("-", "_")  # tags_hasher...: same repository, other spelling
    out = push_ok(hubpush, folder, "--force-update", snake, "-t", "v2")
    assert out["name"] == name
    assert any("updating it under that name" in w for w in out["warnings"])
    assert registry.image_config(repository_for(name), "v2")["config"]["Labels"]["io.hubpush.name"] == name


# --- 5. protected tags -------------------------------------------------------------------------
def test_protected_tag_is_pushed_recorded_and_never_pushed_again(hubpush, make_executor, registry):
    folder, name = make_executor()
    repository = repository_for(name)
    first = push_ok(hubpush, folder, "--protected-tag", "1.0.0", "-t", "latest")
    assert registry.tags(repository) == ["1.0.0", "latest"]
    assert registry.metadata(repository)["protected_tags"] == ["1.0.0"]
    assert first["protected_tags"] == ["1.0.0"]
    secret = first["secret"]

    (folder / "Dockerfile").write_text(FAILING_DOCKERFILE)  # proves the refusal comes before the build
    before = registry.snapshot()
    for args in (["-t", "latest", "-t", "1.0.0", "-t", "brand-new"], ["--protected-tag", "1.0.0"]):
        result = hubpush("push", folder, "--force-update", name, "--secret", secret, *args)
        assert result.exit_code == 24, result.stderr
        assert "'1.0.0'" in result.stderr and "protected" in result.stderr
        assert "this-build-must-not-start" not in result.stdout + result.stderr
        assert registry.snapshot() == before  # neither latest nor brand-new moved


def test_protection_is_recorded_before_the_tag_is_pushed(hubpush, make_executor, registry):
    """Watched on the wire: when the registry receives the image manifest for a protected tag,
    the executor's metadata already lists that tag as protected (semantic 8)."""
    folder, name = make_executor()
    repository = repository_for(name)
    with FaultyRegistryProxy(registry.address, watch_manifests_of=repository) as proxy:
        first = hubpush("push", "--json", folder, "-t", "latest", "--protected-tag", "1.0", env={"HUBPUSH_REGISTRY": proxy.address})
        assert first.exit_code == 0, first.stderr
        (folder / "executor.py").write_text("# 2.0\n")
        update = hubpush("push", folder, "--force-update", name, "--protected-tag", "2.0", env={"HUBPUSH_REGISTRY": proxy.address})
        assert update.exit_code == 0, update.stderr
    seen = {tag: (meta or {}).get("protected_tags", []) for tag, meta in proxy.manifest_puts}
    assert set(seen) == {"latest", "1.0", "2.0"}
    assert "1.0" in seen["1.0"] and "1.0" in seen["latest"]
    assert seen["2.0"] == ["1.0", "2.0"]


def test_other_tags_can_still_be_pushed_next_to_a_protected_one(hubpush, make_executor, registry):
    folder, name = make_executor()
    first = push_ok(hubpush, folder, "--protected-tag", "v1")
    (folder / "executor.py").write_text("# v2\n")
    out = push_ok(hubpush, folder, "--force-update", name, "--secret", first["secret"], "-t", "v2", "--protected-tag", "v2-lts")
    repository = repository_for(name)
    assert registry.manifest(repository, "v1")[0] == first["digest"]
    assert registry.manifest(repository, "v2")[0] == out["digest"] != first["digest"]
    assert registry.metadata(repository)["protected_tags"] == ["v1", "v2-lts"]


# --- registries with a namespace (Harbor projects, GitLab groups, ...) ------------------------------
def test_registry_namespace_prefixes_images_and_metadata(hubpush, refused, make_executor, registry):
    folder, name = make_executor()
    repository = repository_for(name)
    team = f"{registry.address}/team-a/ml"
    out = push_ok(hubpush, folder, "--registry", team)
    assert out["repository"] == f"{team}/{repository}"
    assert out["image_references"] == [f"{team}/{repository}:latest"]
    assert registry.tags(f"team-a/ml/{repository}") == ["latest"]
    assert registry.tags(f"team-a/ml/hubpush-meta/{repository}") == ["current"]
    assert registry.tags(repository) is None  # nothing outside the namespace
    assert hubpush("show", name, "--registry", team).exit_code == 0
    refused("show", name, "--registry", f"{registry.address}/team-b", code=20, says="No executor named")
    refused("push", folder, "--registry", f"{registry.address}/Team_A", code=4, says="not a valid repository path")


def test_an_unchanged_folder_rebuilds_to_the_same_digest(hubpush, make_executor, registry):
    folder, name = make_executor()
    first = push_ok(hubpush, folder, "-t", "a")
    again = push_ok(hubpush, folder, "--force-update", name, "-t", "b")
    assert again["digest"] == first["digest"]  # nothing changed, so no tag moves to a new image
    (folder / "executor.py").write_text("# changed\n")
    changed = push_ok(hubpush, folder, "--force-update", name, "-t", "c")
    assert changed["digest"] != first["digest"]


def test_created_label_follows_source_date_epoch(hubpush, make_executor, registry):
    folder, name = make_executor()
    push_ok(hubpush, folder, env={"SOURCE_DATE_EPOCH": "1700000000"})
    labels = registry.image_config(repository_for(name), "latest")["config"]["Labels"]
    assert labels["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z"
