"""Property tests: whatever names an archive's entries have, nothing lands outside the destination."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubpush.errors import UploadRejectedError
from hubpush.executor.archive import extract_archive

from .zips import CONFIG, raw_zip

PIECES = ["..", ".", "/", "\\", "C:", "c:/", "~", "config.yml", "a", "B", "é", "e\u0301", "\x00", "\x1f", "\u202e", " ", "//", "../"]
entry_name = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), min_size=1, max_size=8).map("".join)
entry = st.tuples(entry_name, st.sampled_from([0o100644, 0o100755, 0o040755, 0o120777, 0o010644, 0]), st.booleans())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.lists(entry, max_size=10), config_first=st.booleans())
def test_random_entry_names_never_escape_the_destination(entries, config_first):
    raw = [{"name": name.encode("utf-8", "surrogatepass"), "data": b"x", "attr": mode << 16, "flags": 0x800 if flagged else 0}
           for name, mode, flagged in entries]  # fmt: skip
    config = {"name": b"config.yml", "data": CONFIG}
    data = raw_zip([config, *raw] if config_first else [*raw, config])
    tmp = Path(tempfile.mkdtemp())
    try:
        destination, beside = tmp / "out", tmp / "beside"
        beside.mkdir()
        try:
            root = extract_archive(io.BytesIO(data), destination)
        except UploadRejectedError as exc:
            exc.message.encode("utf-8")
            assert not destination.exists()
        else:
            assert root == destination or root.parent == destination
            for dirpath, dirnames, filenames in os.walk(destination):
                for name in dirnames + filenames:
                    path = Path(dirpath) / name
                    assert not path.is_symlink()
                    assert path.resolve().is_relative_to(destination.resolve())
                    assert (path.stat().st_mode & 0o7022) == 0  # no setuid/setgid/sticky, no group/other write
        assert sorted(p.name for p in tmp.iterdir()) in (["beside"], ["beside", "out"])
        assert not any(beside.iterdir())
    finally:
        shutil.rmtree(tmp)
