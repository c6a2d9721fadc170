"""``hubpush push`` of hostile folders, as a user runs it: refused at once, before any network.

``--registry`` points at a closed port: a push that got as far as the network would end with
exit 30 (registry unreachable), not with the folder's own refusal.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

LAUGHS = (
    "\n".join(["l0: &l0 [" + ", ".join(["lol"] * 10) + "]"] + [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 10)])
    + "\njtype: A\nmetas:\n  name: Laughs\n  description: *l9\n"
)
CONFIG = "jtype: A\nmetas:\n  name: Hostile\n"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def billion_laughs(folder: Path) -> None:
    (folder / "config.yml").write_text(LAUGHS)


def deep_sequences(folder: Path) -> None:
    (folder / "config.yml").write_text("jtype: A\nmetas: {name: Deep}\nwith: " + "[" * 100_000 + "\n")


def deep_mappings(folder: Path) -> None:
    (folder / "config.yml").write_text("jtype: A\nmetas: {name: Deep}\nwith: " + "{a: " * 60_000 + "\n")  # 240 KB: under the size limit


def fifo(name: str):
    def make(folder: Path) -> None:
        (folder / "config.yml").write_text(CONFIG)
        os.mkfifo(folder / name)

    return make


@pytest.mark.parametrize(
    "make, code, fragment",
    [
        (billion_laughs, 11, "stands for more than 20000 YAML nodes once its aliases are expanded"),
        (deep_sequences, 11, "config.yml is not valid YAML"),  # libyaml's own depth limit answers first here
        (deep_mappings, 11, "nests deeper than 64 levels"),
        (fifo(".dockerignore"), 18, ".dockerignore in "),
        (fifo("requirements.txt"), 18, "requirements.txt in "),
    ],
    ids=["billion-laughs", "100000-deep", "60000-deep-mappings", "fifo-dockerignore", "fifo-requirements"],
)
def test_hostile_folders_are_refused_fast_with_one_sentence(tmp_path, make, code, fragment):
    folder = tmp_path / "exec"
    folder.mkdir()
    make(folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBPUSH_")}
    env["HUBPUSH_CONFIG_DIR"] = str(tmp_path / "config")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "hubpush", "push", str(folder), "--registry", f"localhost:{closed_port()}"],
        capture_output=True, text=True, timeout=30, env=env,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    assert result.returncode == code, result.stderr
    assert fragment in result.stderr and "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and result.stdout == "", result.stderr
    assert elapsed < 5, f"{elapsed:.1f} s"
