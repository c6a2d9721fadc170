"""The upload extractor: good zips unpack into loadable folders, each hostile kind gets its one sentence."""

from __future__ import annotations

import io
import os
import stat
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest

from hubpush.errors import UploadRejectedError
from hubpush.executor.archive import DEFAULT_ARCHIVE_LIMITS, ArchiveLimits, extract_archive
from hubpush.executor.folder import load_executor_folder

from .zips import CONFIG, good_zip, raw_zip, zero_bomb


def refused(data: bytes, tmp_path: Path, fragment: str, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS) -> str:
    destination = tmp_path / "out"
    with pytest.raises(UploadRejectedError) as caught:
        extract_archive(io.BytesIO(data), destination, limits)
    message = caught.value.message
    assert fragment in message, message
    assert message.endswith(".") and "\n" not in message
    assert not destination.exists(), "a refused upload left files behind"
    assert (caught.value.exit_code, caught.value.http_status) == (29, 400)
    return message


def test_a_jina_style_zip_unpacks_into_a_folder_the_loader_accepts(tmp_path):
    data = good_zip({"sub/helper.py": "x = 1\n", "requirements.txt": "numpy\n"})
    root = extract_archive(io.BytesIO(data), tmp_path / "out")
    assert root == tmp_path / "out"
    assert load_executor_folder(root).name == "Zipped"
    assert (root / "sub" / "helper.py").read_text() == "x = 1\n"


def test_a_single_top_level_folder_holding_config_yml_is_the_executor(tmp_path):
    archive = tmp_path / "up.zip"
    archive.write_bytes(good_zip(prefix="my-executor/"))
    root = extract_archive(archive, tmp_path / "out")
    assert root == tmp_path / "out" / "my-executor" and load_executor_folder(root).name == "Zipped"


def test_modes_are_0644_or_0755_never_setuid(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.yml", CONFIG)
        for name, mode in (("run.sh", 0o106755), ("data.txt", 0o100666), ("plain", 0)):
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            archive.writestr(info, b"x")
    root = extract_archive(io.BytesIO(buffer.getvalue()), tmp_path / "out")
    modes = {name: stat.S_IMODE((root / name).stat().st_mode) for name in ("run.sh", "data.txt", "plain", "config.yml")}
    assert modes == {"run.sh": 0o755, "data.txt": 0o644, "plain": 0o644, "config.yml": 0o644}


def test_the_destination_must_be_fresh(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError):
        extract_archive(io.BytesIO(good_zip()), tmp_path / "out")


def test_a_2_gib_zero_bomb_stops_after_about_a_megabyte_with_bounded_memory(tmp_path):
    bomb = zero_bomb(2)
    assert len(bomb) < 3 << 20
    generous = ArchiveLimits(max_total_bytes=4 << 30)  # the declared 2 GiB passes: only the inflated bytes can stop it
    tracemalloc.start()
    started = time.perf_counter()
    try:
        refused(bomb, tmp_path, "inflates more than 200 times its compressed size", generous)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 1
    assert peak < 8 << 20, f"{peak} bytes"


def test_a_bomb_declaring_its_size_is_refused_before_inflating(tmp_path):
    refused(zero_bomb(1), tmp_path, "unpacks to more than 500 MiB")


def test_the_total_is_summed_across_entries(tmp_path):
    # 12 entries of 1 MiB of random bytes (ratio 1:1, no single one is a bomb) against a total of 10 MiB
    entries = {f"part{i}.bin": os.urandom(1 << 20) for i in range(12)}
    limits = ArchiveLimits(max_total_bytes=10 << 20)
    refused(good_zip(entries), tmp_path, "unpacks to more than 10 MiB", limits)


def test_sizes_declared_smaller_than_the_data_do_not_get_through(tmp_path):
    # zipfile stops each entry at its declared size, so what comes out never passes the declared total;
    # the data beyond it then fails the entry's CRC
    zeros = b"\0" * (5 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    stream = compressor.compress(zeros) + compressor.flush()
    data = raw_zip([{"name": b"config.yml", "data": CONFIG}, {"name": b"x", "data": stream, "method": 8, "crc": zlib.crc32(zeros), "size": 10}])
    refused(data, tmp_path, "cannot be unpacked (Bad CRC-32")


def test_archives_over_the_size_limit_are_refused_reading_at_most_one_byte_more(tmp_path):
    data = good_zip({"big.bin": os.urandom(2 << 20)})

    class Counting(io.BytesIO):
        taken = 0

        def read(self, n=-1):
            chunk = super().read(n)
            Counting.taken += len(chunk)
            return chunk

        def seekable(self):
            return False

    with pytest.raises(UploadRejectedError, match="larger than 1 MiB"):
        extract_archive(Counting(data), tmp_path / "out", ArchiveLimits(max_archive_bytes=1 << 20))
    assert Counting.taken == (1 << 20) + 1
    archive = tmp_path / "big.zip"
    archive.write_bytes(data)
    with pytest.raises(UploadRejectedError, match="larger than 1 MiB"):
        extract_archive(archive, tmp_path / "out", ArchiveLimits(max_archive_bytes=1 << 20))


def test_too_many_entries(tmp_path):
    refused(good_zip({f"f{i}": b"" for i in range(30)}), tmp_path, "more than 20 entries", ArchiveLimits(max_entries=20))


def test_an_end_record_that_undercounts_the_entries_does_not_help(tmp_path):
    data = bytearray(good_zip({f"f{i}": b"" for i in range(30)}))
    end = data.rfind(b"PK\x05\x06")
    data[end + 8 : end + 12] = (1).to_bytes(2, "little") * 2  # "1 entry"
    refused(bytes(data), tmp_path, "more than 20 entries", ArchiveLimits(max_entries=20))


@pytest.mark.parametrize(
    "name, fragment",
    [
        (b"../evil.py", "climbs out of the folder with '..'"),
        (b"sub/../../evil.py", "climbs out of the folder"),
        (b"/etc/cron.d/evil", "is an absolute path"),
        (b"C:/Windows/evil", "is an absolute path"),
        (b"c:evil", "is an absolute path"),
        (b"sub\\..\\evil", "contains a backslash"),
        (b"a\x00.py", "with control characters"),
        (b"a\x1b[31m.py", "with control characters"),
        (b"caf\xe9.py", "has a name that is not UTF-8"),
        (b"/".join([b"d"] * 40) + b"/f", "is 41 folders deep; at most 32"),
        (b"x" * 300, "has a component longer than 255 bytes"),
        (b"./", "has an entry with an empty name"),
    ],
)
def test_hostile_names(tmp_path, name, fragment):
    data = raw_zip([{"name": b"config.yml", "data": CONFIG}, {"name": name, "data": b"x"}])
    message = refused(data, tmp_path, fragment)
    message.encode("utf-8")


def test_a_name_flagged_utf8_that_is_not(tmp_path):
    data = raw_zip([{"name": b"config.yml", "data": CONFIG}, {"name": b"\xff\xfe.py", "data": b"x", "flags": 0x800}])
    refused(data, tmp_path, "marked UTF-8 that is not valid UTF-8")


def test_utf8_names_without_the_flag_are_read_as_utf8(tmp_path):
    data = raw_zip([{"name": b"config.yml", "data": CONFIG}, {"name": "café.py".encode(), "data": b"x"}])
    root = extract_archive(io.BytesIO(data), tmp_path / "out")
    assert (root / "café.py").read_bytes() == b"x"


@pytest.mark.parametrize(
    "entries, fragment",
    [
        ([{"name": b"link", "data": b"/etc/passwd", "attr": (stat.S_IFLNK | 0o777) << 16}], "is a symbolic link"),
        ([{"name": b"pipe", "data": b"", "attr": (stat.S_IFIFO | 0o644) << 16}], "is not a file or folder"),
        ([{"name": b"dev", "data": b"", "attr": (stat.S_IFCHR | 0o644) << 16}], "is not a file or folder"),
        ([{"name": b"secret.py", "data": b"x", "flags": 0x1}], "is encrypted"),
        ([{"name": b"bz.py", "data": b"x", "method": 12}], "uses compression method 12"),
        ([{"name": b"dup.py", "data": b"x"}, {"name": b"dup.py", "data": b"y"}], "holds 'dup.py' twice"),
        ([{"name": b"Config.YML", "data": b"x"}], "holds 'Config.YML' twice (names that differ only in case"),
        ([{"name": b"./config.yml", "data": b"x"}], "twice"),
        ([{"name": "e\u0301.py".encode(), "data": b"x"}, {"name": "\u00e9.py".encode(), "data": b"y"}], "twice"),
        ([{"name": b"a", "data": b"x"}, {"name": b"a/b.py", "data": b"y"}], "is both a file and a folder"),
    ],
    ids=["symlink", "fifo", "device", "encrypted", "bzip2", "duplicate", "case-duplicate", "dot-duplicate", "unicode-duplicate", "file-and-folder"],
)
def test_hostile_entries(tmp_path, entries, fragment):
    refused(raw_zip([{"name": b"config.yml", "data": CONFIG}, *entries]), tmp_path, fragment)


@pytest.mark.parametrize(
    "data, fragment",
    [
        (b"this is not a zip at all, just text" * 10, "not a zip archive"),
        (b"MZ junk before" + good_zip(), "has bytes before it"),
        (good_zip() + b"junk after the end", "has bytes after its end"),
        (raw_zip([]), "is empty"),
        (good_zip()[:-30], "not a zip archive, or has bytes after its end"),
        (b"", "not a zip archive"),
    ],
    ids=["text", "leading-junk", "trailing-junk", "empty", "truncated", "nothing"],
)
def test_not_quite_zips(tmp_path, data, fragment):
    refused(data, tmp_path, fragment)


def test_an_archive_without_config_yml_at_its_root(tmp_path):
    refused(raw_zip([{"name": b"src/executor.py", "data": b"x"}, {"name": b"README.md", "data": b"x"}]), tmp_path, "has no config.yml at its root")
    refused(raw_zip([{"name": b"a/config.yml", "data": CONFIG}, {"name": b"b/x", "data": b"x"}]), tmp_path, "nor in a single top-level folder")


def test_a_damaged_entry(tmp_path):
    data = raw_zip([{"name": b"config.yml", "data": CONFIG}, {"name": b"x.py", "data": b"\xff\xff\xff\xff", "method": 8, "size": 100}])
    refused(data, tmp_path, "'x.py' cannot be unpacked")


def test_a_fifo_as_the_archive_path_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "up.zip")
    with pytest.raises(UploadRejectedError, match="is not a regular file"):
        extract_archive(tmp_path / "up.zip", tmp_path / "out")
