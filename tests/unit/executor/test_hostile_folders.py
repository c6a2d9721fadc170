"""Folders made to hurt: special files, links out, huge files, long names, non-UTF-8 names (no Docker)."""

from __future__ import annotations

import io
import os
import socket
import tarfile
import threading
from pathlib import Path

import pytest

from hubpush import errors
from hubpush.executor.context import BuildContext, context_files
from hubpush.executor.folder import load_executor_folder

CONFIG = "jtype: A\nmetas:\n  name: Hostile\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "config.yml").write_text(CONFIG)
    return tmp_path


def tar_of(context: BuildContext) -> tarfile.TarFile:
    with context:
        data = b"".join(context.chunks())
    return tarfile.open(fileobj=io.BytesIO(data))  # in memory: nothing to close


def load_in_thread(folder: Path, timeout: float = 5) -> BaseException | None:
    """Load ``folder`` where a blocking open cannot hang the test run; what it raised, if anything."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            load_executor_folder(folder)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert outcome, "loading the folder blocked (a FIFO was opened)"
    return outcome[0]


@pytest.mark.parametrize("name", ["config.yml", "manifest.yml", "requirements.txt", "README.md", "Dockerfile", ".dockerignore", ".gitignore"])
def test_a_fifo_among_the_files_hubpush_reads_is_refused_before_it_is_opened(folder, name):
    (folder / name).unlink(missing_ok=True)
    os.mkfifo(folder / name)
    error = load_in_thread(folder)
    assert isinstance(error, errors.BuildContextError), error
    assert error.message == f"{name} in {folder} is a FIFO (named pipe), which hubpush never reads; replace it with a regular file."


def test_a_socket_config_is_refused(folder):
    (folder / "config.yml").unlink()
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(folder / "config.yml"))
        error = load_in_thread(folder)
    assert isinstance(error, errors.BuildContextError) and "is a socket" in error.message


def test_a_device_is_refused_through_a_link_inside_the_folder_too(folder):
    os.symlink("dev-null", folder / "requirements.txt")
    try:
        os.mknod(folder / "dev-null", 0o600 | 0o020000, os.makedev(1, 3))  # a character device, like /dev/null
    except PermissionError:
        pytest.skip("mknod needs root")
    error = load_in_thread(folder)
    assert isinstance(error, errors.BuildContextError) and "is a character device" in error.message


@pytest.mark.parametrize("name", ["config.yml", "requirements.txt", ".dockerignore"])
def test_links_out_of_the_folder_are_refused_for_files_hubpush_reads(folder, tmp_path_factory, name):
    outside = tmp_path_factory.mktemp("outside") / name
    outside.write_text(CONFIG)
    (folder / name).unlink(missing_ok=True)
    os.symlink(outside, folder / name)
    with pytest.raises(errors.BuildContextError, match="link to a place outside the folder; the build context would carry only the link"):
        load_executor_folder(folder)


def test_a_readme_linked_from_outside_is_only_left_out_of_the_portal(folder, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "README.md"
    outside.write_text("# the monorepo's README")
    os.symlink(outside, folder / "README.md")
    assert load_executor_folder(folder).readme == ""


def test_links_inside_the_folder_still_work(folder):
    (folder / "real.yml").write_text(CONFIG)
    (folder / "config.yml").unlink()
    os.symlink("real.yml", folder / "config.yml")
    assert load_executor_folder(folder).name == "Hostile"


def test_special_files_deep_in_the_context_are_refused_unless_ignored(folder):
    (folder / "models").mkdir()
    os.mkfifo(folder / "models" / "pipe")
    with pytest.raises(errors.BuildContextError) as caught:
        context_files(folder, None)
    assert caught.value.message == (
        f"models/pipe in {folder} is a FIFO (named pipe), which hubpush never reads; remove it from the folder or list it in .dockerignore."
    )
    (folder / ".dockerignore").write_text("models/pipe\n")
    assert "models/pipe" not in context_files(folder, None)


def test_links_out_of_the_folder_travel_as_links_never_as_content(folder, tmp_path_factory):
    secret = tmp_path_factory.mktemp("outside") / "secret.txt"
    secret.write_text("not for the image")
    os.symlink(secret, folder / "leak.txt")
    member = tar_of(BuildContext(load_executor_folder(folder), "FROM scratch\n")).getmember("leak.txt")
    assert member.issym() and member.linkname == str(secret) and member.size == 0


@pytest.mark.parametrize(
    "name, size, fragment",
    [
        ("config.yml", (256 << 10) + 1, "config.yml is larger than 256 KiB"),
        ("manifest.yml", (256 << 10) + 1, "manifest.yml is larger than 256 KiB"),
        ("requirements.txt", (1 << 20) + 1, "requirements.txt is larger than 1 MiB"),
    ],
)
def test_files_over_their_size_limit_are_refused_without_reading_them_whole(folder, name, size, fragment):
    with open(folder / name, "ab") as handle:
        handle.write(b"#" * size)
    with pytest.raises(errors.InvalidExecutorConfigError, match=fragment):
        load_executor_folder(folder)


def test_a_config_at_its_size_limit_loads(folder):
    with open(folder / "config.yml", "ab") as handle:
        handle.write(b"#" * ((256 << 10) - len(CONFIG)))
    assert load_executor_folder(folder).name == "Hostile"


def test_description_over_the_hubs_limit_is_refused_naming_it(folder):
    (folder / "config.yml").write_text(CONFIG + "  description: '" + "d" * 4097 + "'\n")
    with pytest.raises(errors.InvalidExecutorConfigError) as caught:
        load_executor_folder(folder)
    assert "is 4097 characters; the hub keeps at most 4096: shorten it" in caught.value.message
    (folder / "config.yml").write_text(CONFIG + "  description: '" + "d" * 4096 + "'\n")
    assert len(load_executor_folder(folder).description) == 4096


def test_a_huge_name_is_refused_without_being_echoed(folder):
    (folder / "config.yml").write_text("jtype: A\nmetas:\n  name: " + "N" * 200_000 + "\n")
    with pytest.raises(errors.InvalidExecutorNameError) as caught:
        load_executor_folder(folder)
    assert "is 200000 characters long" in caught.value.message and len(caught.value.message) < 300


def test_a_huge_value_of_the_wrong_type_is_not_echoed_whole(folder):
    (folder / "config.yml").write_text("jtype: A\nmetas:\n  name: X\n  version: [" + ", ".join(["1"] * 10_000) + "]\n")
    with pytest.raises(errors.InvalidExecutorConfigError) as caught:
        load_executor_folder(folder)
    assert "must be a plain text value" in caught.value.message and len(caught.value.message) < 300


def test_non_utf8_file_names_travel_and_messages_stay_printable(folder):
    name = os.fsdecode(b"caf\xff.txt")
    (folder / name).write_text("x")
    loaded = load_executor_folder(folder)
    assert name in context_files(folder, None)
    assert name in tar_of(BuildContext(loaded, "FROM scratch\n")).getnames()
    os.remove(folder / name)
    os.mkfifo(folder / name)
    with pytest.raises(errors.BuildContextError) as caught:
        context_files(folder, None)
    assert caught.value.message.startswith("caf\\xff.txt in ")
    caught.value.message.encode("utf-8")  # printable: no lone surrogates left


def test_config_that_is_not_utf8_is_one_sentence(folder):
    (folder / "config.yml").write_bytes(b"jtype: A\nmetas: {name: \xff}\n")
    with pytest.raises(errors.InvalidExecutorConfigError, match="is not UTF-8 text"):
        load_executor_folder(folder)


def test_a_non_utf8_folder_path_is_fine(tmp_path):
    folder = tmp_path / os.fsdecode(b"dir\xfe")
    folder.mkdir()
    with pytest.raises(errors.InvalidExecutorConfigError) as caught:
        load_executor_folder(folder)
    assert "dir\\xfe has no config.yml" in caught.value.message
    caught.value.message.encode("utf-8")
