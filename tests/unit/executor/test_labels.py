"""The image labels as one Dockerfile LABEL instruction (no Docker; tests/integration checks the engine's reading)."""

import io
import tarfile
from pathlib import Path

from hubpush.executor.context import BuildContext
from hubpush.executor.folder import load_executor_folder
from hubpush.executor.template import MAX_LABEL_LINE, RENDERED_DOCKERFILE, label_instruction, with_labels

CONFIG = {"config.yml": "jtype: A\nmetas: {name: A}\n", "executor.py": ""}
LABELS = {"org.opencontainers.image.title": "A", "io.hubpush.name": "A", "org.opencontainers.image.description": ""}


def make(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def archive(context: BuildContext) -> dict[str, bytes]:
    with context:
        data = b"".join(context.chunks())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: tar.extractfile(m).read() if m.isfile() else b"" for m in tar.getmembers()}  # type: ignore[union-attr]


def test_one_instruction_single_quoted_sorted_and_never_expanded():
    line = label_instruction({"b": "it's $HOME \\", "a": ""})
    assert line == "LABEL a='' b='it'\"'\"'s $HOME \\'"


def test_values_that_do_not_fit_on_one_line_are_left_to_the_engine():
    assert label_instruction({"a": "two\nlines"}) is None
    assert label_instruction({"a": "tab\there"}) is None
    assert label_instruction({"a": "x" * MAX_LABEL_LINE}) is None  # the engine's line limit
    assert label_instruction({"a": "x" * 1000}) is not None
    assert with_labels("FROM x\nRUN a \\\n", {"a": "b"}) is None  # the LABEL would continue the RUN
    assert with_labels("# escape=`\nFROM x\nRUN a `\n", {"a": "b"}) is None


def test_labels_end_the_dockerfile_on_a_line_of_their_own():
    assert with_labels("FROM x", {"a": "b"}) == "FROM x\n# added by hubpush: the image labels, in one step\nLABEL a='b'\n"
    assert with_labels("FROM x\nRUN a \\\n  b\n", {"a": "b"}).endswith("  b\n# added by hubpush: the image labels, in one step\nLABEL a='b'\n")


def test_the_rendered_template_carries_the_labels(tmp_path):
    make(tmp_path, CONFIG)
    context = BuildContext(load_executor_folder(tmp_path), "FROM scratch\n")
    assert context.embed_labels(LABELS) and context.dockerfile == RENDERED_DOCKERFILE
    files = archive(context)
    assert files[RENDERED_DOCKERFILE] == ("FROM scratch\n" + with_labels("", LABELS)).encode()  # type: ignore[operator]


def test_an_own_dockerfile_stays_as_it_is_and_a_hidden_copy_carries_the_labels(tmp_path):
    make(tmp_path, {**CONFIG, "Dockerfile": "FROM scratch\nCOPY . /workdir/\n"})
    context = BuildContext(load_executor_folder(tmp_path), None)
    assert context.embed_labels(LABELS) and context.dockerfile == RENDERED_DOCKERFILE
    files = archive(context)
    assert files["Dockerfile"] == b"FROM scratch\nCOPY . /workdir/\n"
    assert files[RENDERED_DOCKERFILE].startswith(b"FROM scratch\nCOPY . /workdir/\n# added by hubpush")
    assert files[".dockerignore"].decode().splitlines()[1:] == [RENDERED_DOCKERFILE, ".dockerignore"]


def test_an_own_dockerignore_or_an_unsafe_dockerfile_leaves_the_labels_to_the_engine(tmp_path):
    make(tmp_path, {**CONFIG, "Dockerfile": "FROM scratch\n", ".dockerignore": "*.log\n"})
    context = BuildContext(load_executor_folder(tmp_path), None)
    assert not context.embed_labels(LABELS) and context.dockerfile == "Dockerfile"
    assert RENDERED_DOCKERFILE not in archive(context)
    (tmp_path / ".dockerignore").unlink()
    (tmp_path / "Dockerfile").write_text("FROM scratch\nRUN true \\\n")
    context = BuildContext(load_executor_folder(tmp_path), None)
    assert not context.embed_labels(LABELS) and context.dockerfile == "Dockerfile"
