"""Build context contents and the rendered template (no Docker)."""

import tarfile
from pathlib import Path

import io

import pytest

from hubpush.errors import BuildContextError
from hubpush.executor.context import BuildContext, context_files
from hubpush.executor.folder import load_executor_folder
from hubpush.executor.template import RENDERED_DOCKERFILE, render_dockerfile


def make(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


BASE = {"config.yml": "jtype: A\nmetas: {name: A}\n", "executor.py": "", ".git/config": "[core]", ".git/HEAD": "x"}


def test_gitignore_is_honoured_and_git_never_sent(tmp_path):
    make(tmp_path, {**BASE, ".gitignore": "*.log\nbuild/\n", "a.log": "", "build/x": "", "keep/y.txt": ""})
    files = context_files(tmp_path, None)
    assert files == [".gitignore", "config.yml", "executor.py", "keep", "keep/y.txt"]


def test_nested_git_folders_and_never_paths_are_left_out_with_either_ignore_file(tmp_path):
    make(tmp_path, {**BASE, "sub/.git/config": "x", "sub/code.py": "", "cache/secrets.json": "{}"})
    for ignore in ({}, {".dockerignore": "*.log\n"}):
        make(tmp_path, ignore)
        files = context_files(tmp_path, None, never=[tmp_path / "cache"])
        assert "sub/code.py" in files
        assert not any(".git" in f.split("/") for f in files), files
        assert not any(f.startswith("cache") for f in files), files


def test_symlinks_and_empty_folders_travel_as_docker_sends_them(tmp_path):
    make(tmp_path, {**BASE, "real/x.py": ""})
    (tmp_path / "empty").mkdir()
    (tmp_path / "link-to-real").symlink_to("real")
    (tmp_path / "link-outside").symlink_to("/etc")
    files = context_files(tmp_path, None)
    assert {"empty", "link-to-real", "link-outside", "real/x.py"} <= set(files)
    assert not any(f.startswith(("link-outside/", "link-to-real/")) for f in files)  # links are not followed


def test_ignore_files_in_another_encoding_do_not_crash(tmp_path):
    make(tmp_path, BASE)
    (tmp_path / ".gitignore").write_bytes(b"\xff\xfe*.log\nbuild/\n")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "x").write_text("")
    assert "build/x" not in context_files(tmp_path, None)


def test_dockerignore_wins_over_gitignore(tmp_path):
    make(tmp_path, {**BASE, ".gitignore": "*.txt\n", ".dockerignore": "# c\n*.log\n", "a.log": "", "b.txt": ""})
    files = context_files(tmp_path, "Dockerfile")
    assert "b.txt" in files and "a.log" not in files
    assert not any(f.startswith(".git/") for f in files)
    assert "Dockerfile" in files


def test_dockerfile_reaches_the_engine_even_if_ignored(tmp_path):
    make(tmp_path, {**BASE, "Dockerfile": "FROM scratch\n", ".dockerignore": "Dockerfile\n"})
    assert "Dockerfile" in context_files(tmp_path, "Dockerfile")


def test_template_rendering(tmp_path):
    make(tmp_path, {**BASE, "requirements.txt": "x==${V}\n"})
    folder = load_executor_folder(tmp_path)
    text = render_dockerfile(folder, "my/base:1", ["V", "W"])
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines == [
        "FROM my/base:1",
        "ARG V",
        "ARG W",
        "WORKDIR /workdir",
        "COPY requirements.txt /workdir/requirements.txt",
        "RUN pip install --no-cache-dir -r requirements.txt",
        "COPY . /workdir/",
        'ENTRYPOINT ["jina", "executor", "--uses", "config.yml"]',
    ]
    (tmp_path / "requirements.txt").unlink()
    assert "pip install" not in render_dockerfile(load_executor_folder(tmp_path), "b", [])


def test_archive_streams_in_bounded_chunks_with_the_rendered_dockerfile(tmp_path):
    make(tmp_path, BASE)
    (tmp_path / "weights.bin").write_bytes(b"\x00" * (3 * BuildContext.CHUNK + 123))
    folder = load_executor_folder(tmp_path)
    with BuildContext(folder, "FROM scratch\n") as context:
        chunks = list(context.chunks())
    assert max(len(c) for c in chunks) <= BuildContext.CHUNK  # never more than one chunk at a time
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
        names = archive.getnames()
        rendered = archive.extractfile(RENDERED_DOCKERFILE).read()
        weights_size = archive.getmember("weights.bin").size
    assert RENDERED_DOCKERFILE in names and "config.yml" in names and "weights.bin" in names
    assert rendered == b"FROM scratch\n"
    assert weights_size == 3 * BuildContext.CHUNK + 123
    assert not any(n.startswith(".git") for n in names)


def test_unreadable_file_is_a_clear_error(tmp_path):
    make(tmp_path, BASE)
    (tmp_path / "secret.key").write_text("x")
    context = BuildContext(load_executor_folder(tmp_path), None)
    (tmp_path / "secret.key").unlink()  # vanished between listing and archiving
    with pytest.raises(BuildContextError, match="secret.key"):
        with context:
            list(context.chunks())


def test_reader_stopping_early_does_not_hang(tmp_path):
    make(tmp_path, BASE)
    (tmp_path / "big.bin").write_bytes(b"\x01" * (8 * BuildContext.CHUNK))
    with BuildContext(load_executor_folder(tmp_path), None) as context:
        next(iter(context.chunks()))  # the engine refused after the first chunk
