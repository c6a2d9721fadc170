#!/usr/bin/env python3
"""Benchmark: pushing and pulling one image through the hub gateway against straight to the registry.

Two fresh registry:2 containers per round, so every layer really is uploaded (the engine would
otherwise skip or mount layers it already pushed): one used directly, one behind a
`hubpush hub serve` subprocess. The same image (busybox plus --layers layers of random,
incompressible data) is pushed to both and then pulled from both, with the layers removed from
the engine before each pull. The order alternates between rounds. Prints MB/s (10^6 bytes) per
side and the ratio gateway / direct (goal: >= 0.8), plus the gateway's CPU time and peak RSS.

    .venv/bin/python bench/gateway_vs_direct.py --layers 3 --layer-mib 200 --repeat 3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors

REPOSITORY = "bench-executor"
EXECUTOR_NAME = "BenchExecutor"
BASE_IMAGE = "hubpush/busybox:latest"
TAG = "big"
GOAL = 0.8
MANIFEST_TYPES = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"
SIDES = ("direct", "gateway")


@dataclass
class Measurement:
    seconds: float
    bytes: int
    #: CPU seconds (user + system) the gateway process spent during this transfer; 0 for direct
    gateway_cpu: float = 0.0

    @property
    def mb_per_s(self) -> float:
        return self.bytes / self.seconds / 1e6


@dataclass
class Round:
    order: list[str]
    push: dict[str, Measurement] = field(default_factory=dict)
    pull: dict[str, Measurement] = field(default_factory=dict)
    gateway_peak_rss_kib: int = 0


class Bench:
    """Everything one run starts, so that `close` can take it all down again."""

    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.client = docker.from_env(version="auto", timeout=600)
        self.work = Path(tempfile.mkdtemp(prefix="hubpush-bench-gw-"))
        self.containers: list[Any] = []
        self.gateways: list[subprocess.Popen[bytes]] = []
        self.refs: set[str] = set()  # image references this run created (untagged at the end)
        self.image_id = ""
        self.keep_ref = f"hubpush-bench-gw:{uuid.uuid4().hex[:10]}"  # holds the image between rounds
        self.log = sys.stderr if options.json else sys.stdout
        self.machine = ""

    def say(self, message: str) -> None:
        print(message, file=self.log, flush=True)

    # --- setup --------------------------------------------------------------------------
    def build_image(self) -> None:
        context = self.work / "image"
        context.mkdir()
        steps = [f"FROM {BASE_IMAGE}", f"LABEL hubpush.bench.nonce={uuid.uuid4().hex}"]
        steps += [f"RUN head -c {self.options.layer_mib}m /dev/urandom > /data-{i}" for i in range(self.options.layers)]
        (context / "Dockerfile").write_text("\n".join(steps) + "\n")
        start = time.perf_counter()
        image, _ = self.client.images.build(path=str(context), tag=self.keep_ref, nocache=True, rm=True, forcerm=True)
        self.image_id = str(image.id)
        version = self.client.version()
        self.machine = f"{os.cpu_count()} cores, Docker engine {version.get('Version')} (API {version.get('ApiVersion')})"
        self.say(self.machine)
        self.say(f"built {self.options.layers} x {self.options.layer_mib} MiB random layers on {BASE_IMAGE} "
                 f"in {time.perf_counter() - start:.1f} s ({self.image_id[:19]})")  # fmt: skip

    def start_registry(self) -> int:
        container = self.client.containers.run(
            "registry:2", detach=True, ports={"5000/tcp": ("127.0.0.1", None)}, labels={"hubpush.bench": "gateway_vs_direct"}
        )
        self.containers.append(container)
        container.reload()
        port = int(container.ports["5000/tcp"][0]["HostPort"])
        wait_http(f"http://127.0.0.1:{port}/v2/", "registry")
        return port

    def start_gateway(self, registry_port: int) -> tuple[subprocess.Popen[bytes], int]:
        port = free_port()
        env = {**os.environ, "HUBPUSH_GATEWAY_TOKEN_KEY": secrets.token_hex(32)}
        args = [sys.executable, "-m", "hubpush", "hub", "serve", "--upstream", f"http://127.0.0.1:{registry_port}"]
        with open(self.work / f"gateway-{port}.log", "wb") as log:
            process = subprocess.Popen([*args, "--listen", f"127.0.0.1:{port}"], env=env, stdout=log, stderr=subprocess.STDOUT)
        self.gateways.append(process)
        wait_http(f"http://127.0.0.1:{port}/hubpush/v1/info", "gateway", process)
        return process, port

    def publish_executor(self, gateway_port: int) -> str:
        """A first publish with the real CLI: the gateway only takes pushes for published executors."""
        folder = self.work / f"executor-{gateway_port}"
        folder.mkdir()
        (folder / "config.yml").write_text(f"jtype: {EXECUTOR_NAME}\nmetas:\n  name: {EXECUTOR_NAME}\n")
        (folder / "executor.py").write_text("# benchmark executor\nVALUE = 1\n")
        env = {**os.environ, "HUBPUSH_CONFIG_DIR": str(self.work / f"config-{gateway_port}")}
        args = [sys.executable, "-m", "hubpush", "push", str(folder), "--registry", f"localhost:{gateway_port}"]
        result = subprocess.run([*args, "--base-image", BASE_IMAGE, "--json"], capture_output=True, text=True, env=env)
        try:
            answer = json.loads(result.stdout)
            self.refs.update(answer.get("image_references") or [])
            return str(answer["secret"])
        except (ValueError, KeyError, TypeError):
            sys.exit(f"hubpush push failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")

    # --- transfers ------------------------------------------------------------------------
    def _timed_stream(
        self, direction: str, repo: str, auth: dict[str, str] | None, gateway: subprocess.Popen[bytes] | None
    ) -> tuple[float, float, dict[str, str]]:
        """Run one engine push or pull of ``repo:TAG``; return wall seconds, gateway CPU seconds and
        the last status per layer id the stream reported."""
        status: dict[str, str] = {}
        call = self.client.api.push if direction == "push" else self.client.api.pull
        cpu = cpu_seconds(gateway)
        start = time.perf_counter()
        for chunk in call(repo, tag=TAG, stream=True, decode=True, auth_config=auth):
            check(chunk, f"{direction} {repo}:{TAG}")
            if chunk.get("id") and chunk.get("status"):
                status[chunk["id"]] = chunk["status"]
        return time.perf_counter() - start, cpu_seconds(gateway) - cpu, status

    def push(
        self, port: int, auth: dict[str, str] | None, gateway: subprocess.Popen[bytes] | None, registry_port: int
    ) -> Measurement:
        repo = f"localhost:{port}/{REPOSITORY}"
        seconds, cpu, status = self._timed_stream("push", repo, auth, gateway)
        # the stream names layers by the first 12 hex digits of their diff ID; the manifest lists
        # the same layers in the same order, with their compressed (uploaded) sizes
        diff_ids = self.client.images.get(self.image_id).attrs["RootFS"]["Layers"]
        layers = manifest_layers(registry_port, REPOSITORY, TAG)
        sizes = [size for diff_id, (_, size) in zip(diff_ids, layers, strict=True) if status.get(diff_id[7:19]) == "Pushed"]
        self.expect_random_layers(len(sizes), f"push to {repo}", status)
        return Measurement(seconds, sum(sizes), cpu)

    def pull(
        self, port: int, auth: dict[str, str] | None, gateway: subprocess.Popen[bytes] | None, registry_port: int
    ) -> Measurement:
        repo = f"localhost:{port}/{REPOSITORY}"
        seconds, cpu, status = self._timed_stream("pull", repo, auth, gateway)
        self.refs.add(f"{repo}:{TAG}")
        pulled = self.client.images.get(f"{repo}:{TAG}").id
        if pulled != self.image_id:
            sys.exit(f"pulled {pulled}, expected {self.image_id}")
        # the pull stream names layers by the first 12 hex digits of their blob digest
        sizes = [
            size
            for digest, size in manifest_layers(registry_port, REPOSITORY, TAG)
            if status.get(digest[7:19]) == "Pull complete"
        ]
        self.expect_random_layers(len(sizes), f"pull from {repo}", status)
        return Measurement(seconds, sum(sizes), cpu)

    def expect_random_layers(self, moved: int, what: str, status: dict[str, str]) -> None:
        """Exactly the random layers move (the base is already there): anything else measures something else."""
        if moved != self.options.layers:
            sys.exit(f"{what} moved {moved} layers, expected the {self.options.layers} random ones: {status}")

    def drop_image(self) -> None:
        """Every tag of the image and its own layers gone, so that a pull really downloads them."""
        self.client.api.remove_image(self.image_id, force=True)
        try:
            self.client.images.get(self.image_id)
        except docker.errors.ImageNotFound:
            return
        sys.exit(f"{self.image_id} is still in the engine after removal")

    # --- one round ------------------------------------------------------------------------
    def run_round(self, number: int) -> Round:
        order = list(SIDES) if number % 2 == 0 else list(reversed(SIDES))
        result = Round(order)
        direct_port, upstream_port = self.start_registry(), self.start_registry()
        gateway, gateway_port = self.start_gateway(upstream_port)
        secret = self.publish_executor(gateway_port)
        auth = {"username": EXECUTOR_NAME, "password": secret}
        # the executor image lands in both registries, so both already hold the base layer
        executor_ref = f"localhost:{gateway_port}/{REPOSITORY}:latest"
        direct_executor = f"localhost:{direct_port}/{REPOSITORY}"
        self.client.api.tag(executor_ref, direct_executor, "latest")
        self.refs.add(f"{direct_executor}:latest")
        for chunk in self.client.api.push(direct_executor, tag="latest", stream=True, decode=True):
            check(chunk, f"push {direct_executor}:latest")
        sides: dict[str, tuple[int, dict[str, str] | None, subprocess.Popen[bytes] | None, int]] = {
            "direct": (direct_port, None, None, direct_port),
            "gateway": (gateway_port, auth, gateway, upstream_port),
        }
        for side in SIDES:
            self.client.api.tag(self.image_id, f"localhost:{sides[side][0]}/{REPOSITORY}", TAG)
            self.refs.add(f"localhost:{sides[side][0]}/{REPOSITORY}:{TAG}")
        for side in order:
            os.sync()  # nobody pays for the previous transfer's writeback
            result.push[side] = self.push(*sides[side])
            self.say(
                f"round {number + 1}: push {side:7s} {result.push[side].seconds:6.2f} s  {result.push[side].mb_per_s:6.1f} MB/s"
            )
        for side in order:
            self.drop_image()
            os.sync()
            result.pull[side] = self.pull(*sides[side])
            self.say(
                f"round {number + 1}: pull {side:7s} {result.pull[side].seconds:6.2f} s  {result.pull[side].mb_per_s:6.1f} MB/s"
            )
        self.client.api.tag(self.image_id, *self.keep_ref.split(":"))  # the image stays for the next round
        result.gateway_peak_rss_kib = peak_rss_kib(gateway.pid)
        self.stop_round(gateway)
        return result

    def stop_round(self, gateway: subprocess.Popen[bytes]) -> None:
        stop(gateway)
        self.gateways.remove(gateway)
        for container in list(self.containers):
            container.remove(force=True, v=True)
            self.containers.remove(container)
        self.untag()

    def untag(self) -> None:
        for ref in sorted(self.refs):
            with contextlib.suppress(docker.errors.APIError):
                self.client.api.remove_image(ref, noprune=False)
        self.refs.clear()

    def close(self) -> None:
        for gateway in self.gateways:
            stop(gateway)
        for container in self.containers:
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True, v=True)
        self.untag()
        if self.image_id:
            with contextlib.suppress(docker.errors.APIError):
                self.client.api.remove_image(self.image_id, force=True)
        shutil.rmtree(self.work, ignore_errors=True)
        self.client.close()


# --- helpers --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_http(url: str, what: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            sys.exit(f"the {what} exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    sys.exit(f"the {what} did not answer {url} within 30 s")


def manifest_layers(registry_port: int, repository: str, tag: str) -> list[tuple[str, int]]:
    """(digest, size) of each layer, read from the registry itself (behind the gateway, too)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{registry_port}/v2/{repository}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        manifest = json.load(response)
    return [(layer["digest"], int(layer["size"])) for layer in manifest["layers"]]


def check(chunk: dict[str, Any], what: str) -> None:
    if "error" in chunk or "errorDetail" in chunk:
        sys.exit(f"{what} failed: {chunk.get('error') or chunk.get('errorDetail')}")


def cpu_seconds(process: subprocess.Popen[bytes] | None) -> float:
    if process is None:
        return 0.0
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def summary(rounds: list[Round], kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for side in SIDES:
        runs = [getattr(r, kind)[side] for r in rounds]
        out[side] = {
            "median_mb_per_s": round(statistics.median(m.mb_per_s for m in runs), 1),
            "median_seconds": round(statistics.median(m.seconds for m in runs), 2),
            "mb_per_s": [round(m.mb_per_s, 1) for m in runs],
            "seconds": [round(m.seconds, 2) for m in runs],
            "bytes": [m.bytes for m in runs],
        }
    out["gateway"]["cpu_seconds"] = [round(getattr(r, kind)["gateway"].gateway_cpu, 2) for r in rounds]
    out["ratio"] = round(out["gateway"]["median_mb_per_s"] / out["direct"]["median_mb_per_s"], 3)
    out["ratio_per_round"] = [
        round(getattr(r, kind)["gateway"].mb_per_s / getattr(r, kind)["direct"].mb_per_s, 3) for r in rounds
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=3, help="random-data layers on top of busybox")
    parser.add_argument("--layer-mib", type=int, default=200, help="size of each random-data layer")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (fresh registries and gateway each); medians are reported")
    parser.add_argument("--json", action="store_true", help="print one JSON object (progress goes to stderr)")
    options = parser.parse_args()

    bench = Bench(options)
    rounds: list[Round] = []
    try:
        bench.build_image()
        for number in range(options.repeat):
            rounds.append(bench.run_round(number))
    finally:
        bench.close()

    push, pull = summary(rounds, "push"), summary(rounds, "pull")
    peak = max(r.gateway_peak_rss_kib for r in rounds)
    if options.json:
        config = {"layers": options.layers, "layer_mib": options.layer_mib, "repeat": options.repeat, "machine": bench.machine}
        print(
            json.dumps({"config": config, "push": push, "pull": pull, "gateway_peak_rss_kib": peak, "goal": GOAL}, sort_keys=True)
        )
        return
    print()
    print(f"{options.layers} x {options.layer_mib} MiB random layers on {BASE_IMAGE}, {options.repeat} rounds, {bench.machine}")
    print("MB = 10^6 bytes of compressed layers actually moved; gw CPU = the gateway's user + system seconds (median)")
    print(f"{'':14s} {'MB moved':>9s} {'median s':>9s} {'MB/s':>7s} {'min MB/s':>9s} {'max MB/s':>9s} {'gw CPU s':>9s}")
    for kind, data in (("push", push), ("pull", pull)):
        for side in SIDES:
            row = data[side]
            cpu = f"{statistics.median(row['cpu_seconds']):9.2f}" if side == "gateway" else f"{'':9s}"
            print(f"{kind + ' ' + side:14s} {statistics.median(row['bytes']) / 1e6:9.1f} {row['median_seconds']:9.2f} "
                  f"{row['median_mb_per_s']:7.1f} {min(row['mb_per_s']):9.1f} {max(row['mb_per_s']):9.1f} {cpu}")  # fmt: skip
    print(f"gateway peak RSS (VmHWM): {peak / 1024:.1f} MiB")
    print(f"push ratio gateway/direct: {push['ratio']:.2f}  pull ratio: {pull['ratio']:.2f}  (goal >= {GOAL})")


if __name__ == "__main__":
    main()
