"""Build context contents and the rendered template (no Docker)."""

import tarfile
from pathlib import Path

from hubpush.context import RENDERED_DOCKERFILE, build_context, context_files, render_dockerfile
from hubpush.executor import load_executor_folder


def make(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


BASE = {"config.yml": "jtype: A\nmetas: {name: A}\n", "executor.py": "", ".git/config": "[core]", ".git/HEAD": "x"}


def test_gitignore_is_honoured_and_git_never_sent(tmp_path):
    make(tmp_path, {**BASE, ".gitignore": "*.log\nbuild/\n", "a.log": "", "build/x": "", "keep/y.txt": ""})
    files = context_files(tmp_path, None)
    assert files == [".gitignore", "config.yml", "executor.py", "keep/y.txt"]


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


def test_archive_carries_the_rendered_dockerfile_and_is_on_disk(tmp_path):
    make(tmp_path, BASE)
    folder = load_executor_folder(tmp_path)
    with build_context(folder, "FROM scratch\n") as archive:
        assert Path(archive.name).exists()  # a temporary file, not a buffer in memory
        names = tarfile.open(fileobj=archive).getnames()
    assert RENDERED_DOCKERFILE in names and "config.yml" in names
    assert not any(n.startswith(".git") for n in names)
