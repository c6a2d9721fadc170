"""Dockerfile choice, build context, labels, build and infrastructure failures."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from hubpush.core.names import repository_for
from tests.conftest import push_ok

from .faulty_registry import FaultyRegistryProxy


def run_image(reference: str, *command: str) -> str:
    return subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", command[0], reference, *command[1:]],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip


# --- 6. Dockerfile -----------------------------------------------------------------------------
def test_template_is_rendered_when_the_folder_has_no_dockerfile(hubpush, make_executor, registry):
    folder, name = make_executor()
    out = push_ok(hubpush, folder)
    config = registry.image_config(repository_for(name), "latest")["config"]
    assert config["Entrypoint"] == ["jina", "executor", "--uses", "config.yml"]
    assert config["WorkingDir"] == "/workdir"
    listing = run_image(out["image_references"][0], "ls", "-a", "/workdir").split()
    assert "config.yml" in listing and "executor.py" in listing
    assert ".hubpush.Dockerfile" not in listing and ".dockerignore" not in listing  # only the folder's files


def test_base_image_flag_and_env(hubpush, make_executor, docker_client, registry):
    docker_client.images.get("hubpush/busybox:latest").tag("hubpush/busybox", "other-base")
    folder, name = make_executor()
    push_ok(hubpush, folder, "--base-image", "hubpush/busybox:other-base")
    base_layers = docker_client.images.get("hubpush/busybox:other-base").attrs["RootFS"]["Layers"]
    built = docker_client.images.get(f"{registry.address}/{repository_for(name)}:latest").attrs["RootFS"]["Layers"]
    assert built[: len(base_layers)] == base_layers
    folder2, _ = make_executor()
    result = hubpush("push", folder2, "--base-image", "no-such/base-image:nope")
    assert result.exit_code == 33 and "FROM no-such/base-image:nope" in result.stderr


def test_folder_dockerfile_is_used_and_base_image_flag_is_called_out(hubpush, make_executor):
    folder, _ = make_executor(files={"Dockerfile": "FROM hubpush/busybox:latest\nRUN echo own-dockerfile > /marker\n"})
    out = push_ok(hubpush, folder, "--base-image", "ignored/base:1")
    assert run_image(out["image_references"][0], "cat", "/marker").strip() == "own-dockerfile"
    assert out["warnings"] == ["--base-image is ignored: Dockerfile in the folder chooses its own base image."]


def test_dash_f_names_a_dockerfile_inside_the_folder(hubpush, make_executor):
    folder, _ = make_executor(files={
        "Dockerfile": "FROM hubpush/busybox:latest\nRUN echo default > /marker\n",
        "docker/Dockerfile.alt": "FROM hubpush/busybox:latest\nRUN echo alternative > /marker\n",
    })  # fmt: skip
    out = push_ok(hubpush, folder, "-f", "docker/Dockerfile.alt")
    assert run_image(out["image_references"][0], "cat", "/marker").strip() == "alternative"


@pytest.mark.parametrize("dockerfile, fragment", [("missing.Dockerfile", "does not exist"), ("../Dockerfile", "outside")])
def test_dash_f_errors(refused, make_executor, dockerfile, fragment):
    folder, _ = make_executor()
    (folder.parent / "Dockerfile").write_text("FROM scratch\n")
    refused("push", folder, "-f", dockerfile, code=14, says=fragment)


def test_requirement_variables_need_build_env(refused, make_executor):
    folder, _ = make_executor(files={"requirements.txt": "private-pkg @ git+https://${GIT_TOKEN}@git.example/p.git\n"})
    # the base image does not exist: a build that started anyway would end in exit 33, not 17
    refused("push", folder, "--base-image", "no-such/base:1", code=17, says="--build-env GIT_TOKEN=...")
    refused("push", folder, "--build-env", "GIT-TOKEN", code=16, says="KEY=VALUE")


def test_build_env_reaches_a_folder_dockerfile_as_build_arg(hubpush, make_executor):
    folder, _ = make_executor(files={"Dockerfile": "FROM hubpush/busybox:latest\nARG FLAVOUR\nRUN echo $FLAVOUR > /flavour\n"})
    out = push_ok(hubpush, folder, "--build-env", "FLAVOUR=spicy")
    assert run_image(out["image_references"][0], "cat", "/flavour").strip() == "spicy"


# --- 7. build context, labels, secrets -----------------------------------------------------------
CONTEXT_DOCKERFILE = "FROM hubpush/busybox:latest\nCOPY . /ctx/\n"


def test_context_honours_dockerignore_and_never_carries_git(hubpush, make_executor):
    folder, _ = make_executor(files={
        "Dockerfile": CONTEXT_DOCKERFILE, ".dockerignore": "*.log\ndata/\n", ".gitignore": "keep.txt\n",
        "a.log": "x", "data/big.bin": "x", "keep.txt": "x", ".git/config": "[core]\n", ".git/objects/x": "x",
    })  # fmt: skip
    out = push_ok(hubpush, folder)
    files = set(run_image(out["image_references"][0], "find", "/ctx", "-type", "f").split())
    assert "/ctx/keep.txt" in files  # .dockerignore wins, .gitignore not consulted
    assert not {"/ctx/a.log", "/ctx/data/big.bin"} & files
    assert not any(f.startswith("/ctx/.git/") for f in files)


def test_context_falls_back_to_gitignore(hubpush, make_executor):
    folder, _ = make_executor(files={
        "Dockerfile": CONTEXT_DOCKERFILE, ".gitignore": "*.ckpt\n__pycache__/\n", "model.ckpt": "x",
        "__pycache__/m.pyc": "x", ".git/HEAD": "ref", "kept.py": "x",
    })  # fmt: skip
    out = push_ok(hubpush, folder)
    files = set(run_image(out["image_references"][0], "find", "/ctx", "-type", "f").split())
    assert "/ctx/kept.py" in files
    assert not {"/ctx/model.ckpt", "/ctx/__pycache__/m.pyc", "/ctx/.git/HEAD"} & files


def test_oci_labels_from_config_and_manifest(hubpush, make_executor, registry):
    folder, _ = make_executor(
        config="jtype: Labelled\nmetas:\n  version: 2.1.0\n",
        files={"manifest.yml": "name: LabelledExec\ndescription: From the manifest\nurl: https://example.com/src\n"},
    )
    push_ok(hubpush, folder)
    labels = registry.image_config("labelled-exec", "latest")["config"]["Labels"]
    assert labels["org.opencontainers.image.title"] == "LabelledExec"
    assert labels["org.opencontainers.image.description"] == "From the manifest"
    assert labels["org.opencontainers.image.source"] == "https://example.com/src"
    assert labels["org.opencontainers.image.version"] == "2.1.0"
    assert labels["org.opencontainers.image.created"].endswith("Z")
    assert labels["io.hubpush.name"] == "LabelledExec" and labels["io.hubpush.executor-class"] == "Labelled"


def test_labels_come_in_one_build_step_byte_for_byte_and_the_own_dockerfile_is_untouched(hubpush, make_executor, registry):
    description = "It's \"$HOME\" ${X:-y} \\ `tick` #hash ünï"
    folder, _ = make_executor(
        config="jtype: Quoted\nmetas:\n  name: QuotedLabels\n",
        files={"manifest.yml": f"description: {json.dumps(description)}\n", "Dockerfile": CONTEXT_DOCKERFILE},
    )
    out = push_ok(hubpush, folder)
    config = registry.image_config("quoted-labels", "latest")
    assert config["config"]["Labels"]["org.opencontainers.image.description"] == description
    assert config["config"]["Labels"]["io.hubpush.name"] == "QuotedLabels"
    ours = [h["created_by"] for h in config["history"] if "LABEL" in h.get("created_by", "") and "io.hubpush.name=" in h["created_by"]]
    assert len(ours) == 1 and all(f"{key}=" in ours[0] for key in ("io.hubpush.repository", "org.opencontainers.image.created")), ours
    files = set(run_image(out["image_references"][0], "find", "/ctx", "-type", "f").split())
    assert "/ctx/Dockerfile" in files and not {"/ctx/.hubpush.Dockerfile", "/ctx/.dockerignore"} & files
    assert run_image(out["image_references"][0], "cat", "/ctx/Dockerfile") == CONTEXT_DOCKERFILE


def test_base_image_labels_do_not_describe_the_executor(hubpush, make_executor, registry, docker_client):
    base_labels = docker_client.images.get("hubpush/busybox:latest").labels
    assert base_labels.get("org.opencontainers.image.description")  # the base describes itself...
    folder, _ = make_executor(config="jtype: Plain\nmetas:\n  name: PlainNoDescription\n")
    push_ok(hubpush, folder)
    labels = registry.image_config("plain-no-description", "latest")["config"]["Labels"]
    assert labels["org.opencontainers.image.description"] == ""  # ...but not the executor
    assert labels["org.opencontainers.image.title"] == "PlainNoDescription"


def test_secret_never_reaches_the_image_logs_or_registry_metadata(hubpush, make_executor, registry, docker_client):
    folder, name = make_executor()
    secret = push_ok(hubpush, folder)["secret"]
    (folder / "executor.py").write_text("# v2\n")
    update = hubpush("push", "--verbose", folder, "--force-update", name, "--secret", secret)
    assert update.exit_code == 0, update.stderr
    assert secret not in update.stdout + update.stderr
    repository = repository_for(name)
    image = docker_client.images.get(f"{registry.address}/{repository}:latest")
    # `docker save` holds the config (labels, history, env) and every layer as plain, uncompressed tars
    saved = b"".join(image.save())
    assert b"org.opencontainers.image.title" in saved  # the scan does see the image config
    assert secret.encode() not in saved
    assert secret not in str(registry.metadata(repository))


# --- 7. failures ---------------------------------------------------------------------------------
def test_build_failure_names_the_step_and_shows_the_log_tail(refused, make_executor):
    folder, _ = make_executor(files={
        "Dockerfile": "FROM hubpush/busybox:latest\nRUN echo fine\nRUN echo boom-marker-line && exit 3\nRUN echo never\n"
    })  # fmt: skip
    result = refused("push", folder, code=33, says="The image build failed")
    assert re.search(r"failed at 'Step 3/\d+ : RUN echo boom-marker-line && exit 3'", result.stderr)
    assert "boom-marker-line" in result.stderr.split("Error:")[0]  # the end of the step's log


def test_docker_engine_unreachable(refused, make_executor, tmp_path):
    folder, _ = make_executor()
    refused("push", folder, env={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}, code=32, says="Docker engine does not answer")


def test_registry_unreachable_names_the_address(hubpush, make_executor):
    folder, _ = make_executor()
    result = hubpush("push", folder, "--registry", "localhost:1")
    assert result.exit_code == 30 and "localhost:1" in result.stderr and "Traceback" not in result.stderr


def test_errors_inside_dockers_push_stream_are_push_failures(hubpush, make_executor, registry):
    folder, name = make_executor()
    repository = repository_for(name)
    with FaultyRegistryProxy(registry.address, refuse_blob_uploads_to=repository) as proxy:
        result = hubpush("push", folder, env={"HUBPUSH_REGISTRY": proxy.address})
    assert proxy.refused > 0
    assert result.exit_code == 34, result.stderr
    assert "Pushing" in result.stderr and "failed" in result.stderr
    # registry:2 refuses deletes by default, so the first publish's metadata stays: the NAME is reserved
    assert f"--force-update {name}" in result.stderr
    assert registry.tags(repository) is None  # no image tag was created
    assert registry.metadata(repository)["tags"] == {}


def test_a_failed_update_leaves_the_registry_exactly_as_it_was(hubpush, make_executor, registry):
    folder, name = make_executor()
    repository = repository_for(name)
    first = push_ok(hubpush, folder, "-t", "v1")
    (folder / "executor.py").write_text("# new layer content\n")
    before = registry.snapshot()
    with FaultyRegistryProxy(registry.address, refuse_blob_uploads_to=repository) as proxy:
        result = hubpush("push", folder, "--force-update", name, "--secret", first["secret"], "--private",
                         "--protected-tag", "v2", env={"HUBPUSH_REGISTRY": proxy.address})  # fmt: skip
    assert result.exit_code == 34, result.stderr
    assert "back as it was" in result.stderr
    assert registry.snapshot() == before  # metadata digest included: visibility and protection not changed
    assert registry.metadata(repository)["visibility"] == "public"


def test_a_failed_first_publish_is_undone_where_the_registry_allows_deletes(hubpush, make_executor, docker_client, tmp_path):
    from tests.conftest import running_registry

    folder, name = make_executor()
    repository = repository_for(name)
    with running_registry(docker_client, REGISTRY_STORAGE_DELETE_ENABLED="true") as deletable:
        with FaultyRegistryProxy(deletable.address, refuse_blob_uploads_to=repository) as proxy:
            failed = hubpush("push", folder, env={"HUBPUSH_REGISTRY": proxy.address})
        assert failed.exit_code == 34 and "back as it was" in failed.stderr
        assert "--force-update" not in failed.stderr
        assert deletable.metadata(repository) is None and deletable.tags(repository) is None
        assert repository not in (tmp_path / "hubpush-config" / "secrets.json").read_text()  # secret forgotten
        again = hubpush("push", "--json", folder, env={"HUBPUSH_REGISTRY": deletable.address})
        assert again.exit_code == 0 and again.json["first_publish"] is True  # the NAME is free again


def test_platform_is_checked_after_the_build(hubpush, make_executor, registry):
    folder, name = make_executor()
    out = push_ok(hubpush, folder, "--platform", "linux/amd64")
    assert registry.image_config(repository_for(name), "latest")["architecture"] == "amd64"
    before = registry.snapshot()
    # with every layer cached, the classic builder quietly produces amd64 again: hubpush must refuse it
    refused = hubpush("push", folder, "--force-update", name, "-t", "arm", "--platform", "linux/arm64")
    assert refused.exit_code == 19, refused.stderr
    assert "built a linux/amd64 image although --platform linux/arm64" in refused.stderr
    assert registry.snapshot() == before
    assert out["digest"]
