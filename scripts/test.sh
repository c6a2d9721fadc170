#!/usr/bin/env bash
# The whole test suite, on a bare Debian 12 machine (as root): installs and starts what the
# tests need (Docker engine, registry:2 and base images, the Python environment), then runs
# pytest. Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/unit -q`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh
bash scripts/python-env.sh

# static checks first: cheap, and they catch what a test may not reach
echo "==> ruff and mypy" >&2
.venv/bin/ruff check hubpush tests bench
.venv/bin/mypy hubpush

# Ryuk (testcontainers' reaper) cannot be pulled on air-gapped machines; fixtures clean up.
export TESTCONTAINERS_RYUK_DISABLED=true
exec .venv/bin/python -m pytest "$@"
