"""Every user mistake: one sentence, its own exit code, no traceback, registry unchanged."""

from __future__ import annotations

import re

import pytest


def folder_with(tmp_path, files):
    folder = tmp_path / "exec"
    folder.mkdir()
    for rel, text in files.items():
        (folder / rel).write_text(text)
    return folder


CASES = [
    # (id, files or None for a missing folder, extra args, exit code, fragment)
    ("missing-path", None, [], 10, "does not exist"),
    ("no-name", {"config.yml": "jtype: A\n"}, [], 12, "metas"),
    ("invalid-yaml", {"config.yml": "jtype: A\nmetas: {name: [\n"}, [], 11, "not valid YAML"),
    ("no-jtype", {"config.yml": "metas:\n  name: NoJtype\n"}, [], 11, "jtype"),
    ("invalid-tag", {"config.yml": "jtype: A\nmetas: {name: BadTag}\n"}, ["-t", "-bad"], 15, "'-bad'"),
    ("both-visibilities", {"config.yml": "jtype: A\nmetas: {name: Both}\n"}, ["--public", "--private"], 2, "--public and --private"),
    ("secret-alone", {"config.yml": "jtype: A\nmetas: {name: SecretAlone}\n"}, ["--secret", "abc"], 3, "--force-update"),
    ("bad-build-env", {"config.yml": "jtype: A\nmetas: {name: BadEnv}\n"}, ["--build-env", "1NOPE=x"], 16, "KEY=VALUE"),
    ("dockerfile-missing", {"config.yml": "jtype: A\nmetas: {name: NoDf}\n"}, ["-f", "Nope"], 14, "does not exist"),
    ("invalid-name", {"config.yml": "jtype: A\nmetas: {name: 'no spaces please'}\n"}, [], 13, "not valid"),
    ("registry-without-host", {"config.yml": "jtype: A\nmetas: {name: NoHost}\n"}, ["--registry", ":5000"], 4, "[/NAMESPACE]"),
    ("registry-namespace", {"config.yml": "jtype: A\nmetas: {name: BadNs}\n"}, ["--registry", "localhost:1/Up"], 4, "'Up'"),
    ("markup-in-a-tag", {"config.yml": "jtype: A\nmetas: {name: Markup}\n"}, ["-t", "[/b]"], 15, "'[/b]'"),
    ("bad-base-image", {"config.yml": "jtype: A\nmetas: {name: BadBase}\n"}, ["--base-image", "x\nRUN rm -rf /"], 5, "not an image reference"),
    ("name-not-text", {"config.yml": "jtype: A\nmetas: {name: true}\n"}, [], 11, "metas.name"),
]


@pytest.mark.parametrize("files, args, code, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_user_mistakes(hubpush, registry, tmp_path, files, args, code, fragment):
    path = folder_with(tmp_path, files) if files is not None else tmp_path / "nowhere"
    before = registry.snapshot()
    result = hubpush("push", path, *args)
    assert result.exit_code == code, result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1 and error_lines[0].rstrip().endswith((".", ")")), result.stderr
    assert result.stdout == ""
    assert registry.snapshot() == before


def test_path_that_is_a_file(hubpush, registry, tmp_path):
    (tmp_path / "config.yml").write_text("jtype: A\n")
    result = hubpush("push", tmp_path / "config.yml")
    assert result.exit_code == 10 and "not a folder" in result.stderr


def test_errors_in_json_mode_are_one_json_object(hubpush, registry, tmp_path):
    result = hubpush("push", "--json", tmp_path / "nowhere")
    assert result.exit_code == 10
    assert result.json["error"]["exit_code"] == 10 and result.json["error"]["kind"] == "folder-not-found"
    assert len(result.stdout.strip().splitlines()) == 1 and result.stderr == ""


def test_json_success_is_exactly_one_object_and_nothing_else(hubpush, make_executor):
    folder, name = make_executor()
    result = hubpush("push", "--json", folder, "-t", "v1", "--protected-tag", "v1-lts")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1 and result.stderr == ""
    data = result.json
    assert set(data) == {"name", "repository", "secret", "visibility", "tags", "protected_tags", "digest",
                         "image_references", "first_publish", "warnings", "portal_url"}  # fmt: skip
    assert data["portal_url"] == ""  # a bare registry has no portal
    assert data["tags"] == ["v1", "v1-lts"] and data["protected_tags"] == ["v1-lts"]
    update = hubpush("push", "--json", folder, "--force-update", name, "-t", "v2")
    assert update.exit_code == 0 and "secret" not in update.json


def test_show_public_and_private(hubpush, make_executor, registry, tmp_path):
    folder, name = make_executor()
    pub = hubpush("push", "--json", folder, "-t", "v1", "--protected-tag", "v1-lts")
    assert pub.exit_code == 0
    shown = hubpush("show", "--json", name, env={"HUBPUSH_CONFIG_DIR": str(tmp_path / "stranger")})
    assert shown.exit_code == 0, shown.stderr
    info = shown.json
    assert info["visibility"] == "public" and info["protected_tags"] == ["v1-lts"]
    assert set(info["tags"]) == {"v1", "v1-lts"} and info["tags"]["v1"]["digest"] == pub.json["digest"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info["tags"]["v1"]["pushed_at"])
    assert "secret_hash" not in shown.stdout
    human = hubpush("show", name)
    assert human.exit_code == 0 and "v1-lts" in human.stdout and pub.json["digest"] in human.stdout

    private_folder, private_name = make_executor()
    secret = hubpush("push", "--json", private_folder, "--private").json["secret"]
    stranger = {"HUBPUSH_CONFIG_DIR": str(tmp_path / "stranger")}
    assert hubpush("show", private_name, env=stranger).exit_code == 22
    assert hubpush("show", private_name, "--secret", "wrong", env=stranger).exit_code == 23
    ok = hubpush("show", "--json", private_name, "--secret", secret, env=stranger)
    assert ok.exit_code == 0 and ok.json["visibility"] == "private"
    assert hubpush("show", private_name).exit_code == 0  # the publisher's cache is enough
    assert hubpush("show", "NeverPublished").exit_code == 20


def test_brackets_in_user_text_print_as_typed(hubpush, tmp_path):
    folder = folder_with(tmp_path, {"config.yml": "jtype: A\nmetas:\n  name: BracketExec\n  description: 'see [/] and [bold]x[/bold]'\n"})
    published = hubpush("push", folder)
    assert published.exit_code == 0, published.stderr
    shown = hubpush("show", "BracketExec")
    assert shown.exit_code == 0, shown.stderr
    assert "see [/] and [bold]x[/bold]" in shown.stdout
