"""Loading and validating executor folders (no Docker)."""

from pathlib import Path

import pytest

from hubpush import errors
from hubpush.executor.folder import check_requirement_vars, load_executor_folder, parse_build_env

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return folder


def test_examples_load():
    hello = load_executor_folder(EXAMPLES / "hello-executor")
    assert (hello.name, hello.jtype, hello.dockerfile) == ("HelloExecutor", "HelloExecutor", None)
    assert hello.description and hello.version == "0.1.0" and hello.has_requirements
    shout = load_executor_folder(EXAMPLES / "custom-dockerfile-executor")
    assert shout.dockerfile == (EXAMPLES / "custom-dockerfile-executor" / "Dockerfile").resolve()


def test_name_falls_back_to_legacy_manifest(tmp_path):
    write(tmp_path, {"config.yml": "jtype: A\n", "manifest.yml": "name: LegacyName\ndescription: old\n"})
    folder = load_executor_folder(tmp_path)
    assert folder.name == "LegacyName" and folder.description == "old"


def test_numeric_versions_are_text(tmp_path):
    write(tmp_path, {"config.yml": "jtype: A\nmetas:\n  name: A\n  version: 1.0\n"})
    assert load_executor_folder(tmp_path).version == "1.0"


def test_metas_name_wins_over_manifest(tmp_path):
    write(tmp_path, {"config.yml": "jtype: A\nmetas:\n  name: New\n", "manifest.yml": "name: Old\n"})
    assert load_executor_folder(tmp_path).name == "New"


def test_old_style_yaml_tag_stands_in_for_jtype(tmp_path):
    write(tmp_path, {"config.yml": "!OldStyle\nmetas:\n  name: OldStyle\n"})
    assert load_executor_folder(tmp_path).jtype == "OldStyle"


@pytest.mark.parametrize(
    "files, error, fragment",
    [
        ({"config.yml": "jtype: A\n"}, errors.ExecutorNameMissingError, "metas"),
        ({"config.yml": "jtype: [unclosed\n"}, errors.InvalidExecutorConfigError, "not valid YAML at line"),
        ({"config.yml": "metas:\n  name: X\n"}, errors.InvalidExecutorConfigError, "jtype"),
        ({"config.yml": "- a\n- b\n"}, errors.InvalidExecutorConfigError, "mapping"),
        ({"executor.py": ""}, errors.InvalidExecutorConfigError, "config.yml"),
        ({"config.yml": "jtype: A\nmetas:\n  name: bad name\n"}, errors.InvalidExecutorNameError, "not valid"),
        ({"config.yml": "jtype: A\n", "manifest.yml": "name: [x\n"}, errors.InvalidExecutorConfigError, "manifest.yml"),
        ({"config.yml": "jtype: A\nmetas:\n  name: true\n"}, errors.InvalidExecutorConfigError, "metas.name"),
        ({"config.yml": "jtype: [a, b]\nmetas:\n  name: X\n"}, errors.InvalidExecutorConfigError, "'jtype'"),
        ({"config.yml": "jtype: A\nmetas:\n  name: X\n  description: {a: 1}\n"}, errors.InvalidExecutorConfigError, "quote it"),
        ({"config.yml": "jtype: A\n", "manifest.yml": "name: 123\n"}, errors.InvalidExecutorConfigError, "'name'"),
    ],
)
def test_bad_folders(tmp_path, files, error, fragment):
    write(tmp_path, files)
    with pytest.raises(error, match=fragment):
        load_executor_folder(tmp_path)


def test_missing_path_and_file_path(tmp_path):
    with pytest.raises(errors.ExecutorFolderNotFoundError, match="does not exist"):
        load_executor_folder(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(errors.ExecutorFolderNotFoundError, match="not a folder"):
        load_executor_folder(tmp_path / "file")


def test_dockerfile_option(tmp_path):
    write(tmp_path, {"config.yml": "jtype: A\nmetas: {name: A}\n", "docker/Dockerfile.gpu": "FROM scratch\n"})
    assert load_executor_folder(tmp_path, "docker/Dockerfile.gpu").dockerfile_in_context == "docker/Dockerfile.gpu"
    with pytest.raises(errors.DockerfileError, match="does not exist"):
        load_executor_folder(tmp_path, "Dockerfile.missing")
    (tmp_path.parent / "Outside.Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(errors.DockerfileError, match="outside"):
        load_executor_folder(tmp_path, "../Outside.Dockerfile")
    with pytest.raises(errors.DockerfileError, match="outside"):
        load_executor_folder(tmp_path, str(tmp_path.parent / "Outside.Dockerfile"))


def test_requirement_vars_and_build_env(tmp_path):
    write(tmp_path, {
        "config.yml": "jtype: A\nmetas: {name: A}\n",
        "requirements.txt": "# ${COMMENTED} is ignored\ngit+https://${TOKEN}@git.example/x.git\nfoo==${FOO_VERSION}\n",
    })  # fmt: skip
    folder = load_executor_folder(tmp_path)
    assert folder.requirement_vars == ["TOKEN", "FOO_VERSION"]
    with pytest.raises(errors.MissingBuildEnvError, match=r"--build-env FOO_VERSION=\.\.\."):
        check_requirement_vars(folder, {"TOKEN": "t"})
    check_requirement_vars(folder, {"TOKEN": "t", "FOO_VERSION": "1"})


def test_parse_build_env():
    assert parse_build_env(["A=1", "B_2=x=y", "EMPTY="]) == {"A": "1", "B_2": "x=y", "EMPTY": ""}
    for bad in ["NOEQUALS", "1X=2", "=v", "A-B=1"]:
        with pytest.raises(errors.InvalidBuildEnvError):
            parse_build_env([bad])


def test_bad_build_env_message_never_echoes_the_value():
    with pytest.raises(errors.InvalidBuildEnvError) as caught:
        parse_build_env(["BAD-KEY=super-secret-token"])
    assert "super-secret-token" not in caught.value.message
