"""Property tests: whatever a folder holds, loading it ends quickly in a folder or a HubpushError."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubpush.errors import HubpushError
from hubpush.executor.context import context_files
from hubpush.executor.folder import load_executor_folder

#: pieces YAML gives meaning to, so random text is often almost-YAML rather than plain words
YAML_PIECES = [
    "jtype: A\n", "metas:\n", "  name: X\n", "  description: ", "&a ", "*a", "!Tag ", "!!binary ", "!!python/object ",
    "[", "]", "{", "}", ": ", "- ", "? ", "<<: ", "---\n", "...\n", "'", '"', "|\n", ">\n", "#", "%YAML 1.1\n",
    "\t", "\n", "  ", "1e999", "0x", "2024-02-30", "~", "true", "\x00", "\ufeff", "9" * 5000,
]
yaml_text = st.lists(st.one_of(st.sampled_from(YAML_PIECES), st.text(max_size=20)), max_size=60).map("".join)
KNOWN = ["config.yml", "manifest.yml", "requirements.txt", "README.md", "Dockerfile", ".dockerignore", ".gitignore"]
entry_kind = st.sampled_from(["file", "dir", "fifo", "link-in", "link-out", "dangling"])
names = st.one_of(st.sampled_from(KNOWN), st.binary(min_size=1, max_size=12).filter(lambda b: b"/" not in b and b"\0" not in b))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=yaml_text, manifest=st.none() | yaml_text)
def test_any_yaml_ish_config_loads_or_is_refused_with_a_sentence(config, manifest):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "config.yml").write_text(config, encoding="utf-8", errors="surrogatepass")
        if manifest is not None:
            (folder / "manifest.yml").write_text(manifest, encoding="utf-8", errors="surrogatepass")
        started = time.perf_counter()
        try:
            load_executor_folder(folder)
        except HubpushError as exc:
            assert exc.message.strip() and "\n" not in exc.message
            exc.message.encode("utf-8")  # printable
        assert time.perf_counter() - started < 1


def _make_tree(root: Path, entries: list[tuple[bytes, str, str]], outside: Path) -> None:
    for raw_name, kind, text in entries:
        name = raw_name if isinstance(raw_name, str) else os.fsdecode(raw_name)
        if name in (".", ".."):
            continue
        path = root / name
        if os.path.lexists(path):
            continue
        if kind == "file":
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
        elif kind == "dir":
            path.mkdir()
            (path / "inner.txt").write_text(text, encoding="utf-8", errors="surrogatepass")
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "link-in":
            os.symlink("config.yml", path)
        elif kind == "link-out":
            os.symlink(outside, path)
        else:
            os.symlink("nowhere", path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.lists(st.tuples(names, entry_kind, yaml_text), max_size=12), config=yaml_text)
def test_any_folder_tree_loads_or_is_refused_and_never_blocks(entries, config):
    tmp = Path(tempfile.mkdtemp())
    try:
        folder, outside = tmp / "exec", tmp / "outside.txt"
        folder.mkdir()
        outside.write_text("jtype: A\n")
        (folder / "config.yml").write_text("jtype: A\nmetas: {name: Tree}\n" + config, encoding="utf-8", errors="surrogatepass")
        _make_tree(folder, entries, outside)
        started = time.perf_counter()
        try:
            loaded = load_executor_folder(folder)
            context_files(loaded.path, loaded.dockerfile_in_context)
        except HubpushError as exc:
            exc.message.encode("utf-8")
        # a FIFO that were opened would block here for ever (the test would time out, not pass)
        assert time.perf_counter() - started < 2
    finally:
        shutil.rmtree(tmp)
