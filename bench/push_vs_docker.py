#!/usr/bin/env python3
"""Benchmark: `hubpush push` against doing it by hand (`docker build`, `docker tag`, `docker push`).

Same executor folder, same engine, same number of tags, each run against a fresh registry:2
container so that every layer really is uploaded. The local build cache is warm for both
(a typical re-publish), or cold for both with --no-cache. Prints a table of wall-clock times
and the ratio hubpush / by hand (goal: <= 1.0, "never slower than doing it by hand").

    .venv/bin/python bench/push_vs_docker.py --payload-mb 200 --tags 3 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def sh(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(args, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"command failed: {' '.join(args)}\n{result.stdout}\n{result.stderr}")
    return result.stdout


def start_registry() -> tuple[str, str]:
    container = sh("docker", "run", "-d", "-p", "127.0.0.1::5000", "registry:2").strip()
    port = sh("docker", "port", container, "5000/tcp").strip().splitlines()[0].rsplit(":", 1)[1]
    address = f"localhost:{port}"
    for _ in range(100):
        if subprocess.run(["python3", "-c", f"import urllib.request; urllib.request.urlopen('http://{address}/v2/')"],
                          capture_output=True).returncode == 0:  # fmt: skip
            return container, address
        time.sleep(0.1)
    sys.exit("registry did not start")


def make_folder(root: Path, name: str, base: str, payload_mb: int) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "config.yml").write_text(f"jtype: {name}\nmetas:\n  name: {name}\n")
    (folder / "executor.py").write_text("# benchmark executor\n")
    with open(folder / "payload.bin", "wb") as handle:  # incompressible, like model weights
        for _ in range(payload_mb):
            handle.write(os.urandom(1024 * 1024))
    (folder / "Dockerfile").write_text(f"FROM {base}\nCOPY payload.bin /payload/\nCOPY config.yml executor.py /workdir/\n")
    return folder


def by_hand(folder: Path, registry: str, repository: str, tags: list[str], no_cache: bool) -> float:
    start = time.perf_counter()
    image = f"{registry}/{repository}"
    sh("docker", "build", *(["--no-cache"] if no_cache else []), "-q", "-t", f"{image}:{tags[0]}", str(folder))
    for tag in tags[1:]:
        sh("docker", "tag", f"{image}:{tags[0]}", f"{image}:{tag}")
    for tag in tags:
        sh("docker", "push", "-q", f"{image}:{tag}")
    return time.perf_counter() - start


def with_hubpush(folder: Path, registry: str, tags: list[str], no_cache: bool, config_dir: Path) -> float:
    env = {**os.environ, "HUBPUSH_CONFIG_DIR": str(config_dir), "DOCKER_BUILDKIT": "0"}
    args = [sys.executable, "-m", "hubpush", "push", "--json", "--registry", registry, str(folder)]
    args += [a for tag in tags for a in ("-t", tag)] + (["--no-cache"] if no_cache else [])
    start = time.perf_counter()
    sh(*args, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payload-mb", type=int, default=200, help="size of the executor's data layer")
    parser.add_argument("--tags", type=int, default=3, help="tags per push")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base", default="hubpush/busybox:latest", help="base image (must exist locally)")
    parser.add_argument("--no-cache", action="store_true", help="cold builds for both")
    options = parser.parse_args()

    os.environ["DOCKER_BUILDKIT"] = "0"  # the classic builder, as docker-py uses: same builder for both
    tags = [f"t{i}" for i in range(1, options.tags + 1)]
    work = Path(tempfile.mkdtemp(prefix="hubpush-bench-"))
    results: dict[str, list[float]] = {"by hand": [], "hubpush": []}
    containers: list[str] = []
    try:
        folder = make_folder(work, f"Bench{uuid.uuid4().hex[:6]}", options.base, options.payload_mb)
        sh("docker", "build", "-q", "-t", "hubpush-bench-warmup", str(folder))  # warm the cache for both
        for round_number in range(options.rounds):
            # alternate the order so neither side always runs on a warmer machine
            order = ["by hand", "hubpush"] if round_number % 2 == 0 else ["hubpush", "by hand"]
            for side in order:
                container, registry = start_registry()
                containers.append(container)
                if side == "by hand":
                    elapsed = by_hand(folder, registry, "bench-executor", tags, options.no_cache)
                else:
                    elapsed = with_hubpush(folder, registry, tags, options.no_cache, work / f"cfg-{round_number}")
                results[side].append(elapsed)
                print(f"round {round_number + 1}: {side:8s} {elapsed:6.2f} s", flush=True)
                sh("docker", "rm", "-f", "-v", container)
                containers.remove(container)
                for line in sh("docker", "images", "--format", "{{.Repository}}:{{.Tag}}").splitlines():
                    if line.startswith(registry):
                        subprocess.run(["docker", "rmi", line], capture_output=True)
    finally:
        for container in containers:
            subprocess.run(["docker", "rm", "-f", "-v", container], capture_output=True)
        subprocess.run(["docker", "rmi", "hubpush-bench-warmup"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)

    hand, hub = statistics.median(results["by hand"]), statistics.median(results["hubpush"])
    print()
    print(f"payload {options.payload_mb} MiB, {options.tags} tags, {options.rounds} rounds, "
          f"{'cold' if options.no_cache else 'warm'} build cache, base {options.base}")  # fmt: skip
    print(f"{'':10s} {'median s':>9s} {'min s':>7s} {'max s':>7s}")
    for side, values in results.items():
        print(f"{side:10s} {statistics.median(values):9.2f} {min(values):7.2f} {max(values):7.2f}")
    print(f"ratio hubpush / by hand (median): {hub / hand:.2f}")


if __name__ == "__main__":
    main()
