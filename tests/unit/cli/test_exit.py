"""The console entry point ends the process without interpreter teardown: output and exit codes stay as they were."""

from __future__ import annotations

import json
import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hubpush", *args], capture_output=True, text=True, timeout=60)


def test_output_is_flushed_before_a_fast_exit():
    result = run("version")
    assert result.returncode == 0 and result.stdout.strip() and not result.stderr


def test_exit_codes_and_json_errors_are_kept(tmp_path):
    result = run("push", "--json", str(tmp_path / "missing"))
    error = json.loads(result.stdout)["error"]
    assert result.returncode == error["exit_code"] != 0


def test_usage_errors_keep_click_exit_code():
    result = run("push")
    assert result.returncode == 2 and "Missing argument" in result.stderr


def test_a_push_refused_before_the_network_never_imports_docker_py(tmp_path):
    code = (
        "import sys\nfrom hubpush.cli import app\n"
        "try:\n    app(['push', '--json', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
        "print('docker' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "missing")], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().endswith("False"), result.stdout
