#!/usr/bin/env python3
"""Benchmark: `hubpush push` against doing it by hand, in the cases of issue 11.

By hand is `docker build -q -t REF:T1 .`, `docker tag` per extra tag, `docker push -q` per tag
(classic builder, like docker-py). The executor is `FROM` a Debian+python base already in the
registry plus `COPY . /workdir/`, and every round writes --payload-mb of fresh random bytes into
each side's own folder (so one layer really uploads, and neither side reuses the other's cache).
hubpush pushes are updates: `--force-update NAME --secret S -t ...`.

Cases, all in one run, the two sides alternating which goes first, one round after another:

- bare registry, 1 tag / 10 tags;
- through the hub gateway (`hubpush hub serve`), 1 tag; by hand is `docker login` as NAME/SECRET;
- unchanged folder pushed again (bare registry, 1 tag, nothing rewritten);
- refusals (wrong secret, protected tag): hubpush alone, must be <= 0.5 s and start no build;
- a --big-mb folder (fresh content each round): time against by hand and hubpush's peak RSS.

Prints the medians and the ratio hubpush / by hand per case. From a clean clone:

    bash scripts/python-env.sh && .venv/bin/python bench/push_vs_docker.py
"""

from __future__ import annotations

import argparse
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
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
HUBPUSH = [sys.executable, "-m", "hubpush"]


def sh(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, env=env)
    if check and result.returncode != 0:
        sys.exit(f"command failed ({result.returncode}): {' '.join(args)}\n{result.stdout}\n{result.stderr}")
    return result


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, int, int, str, str]:
    """Wall time, exit code, peak RSS (KiB, from wait4), stdout, stderr of one command."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as errs:
        start = time.perf_counter()
        process = subprocess.Popen(args, env=env, stdout=out, stderr=errs)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        errs.seek(0)
        return elapsed, process.returncode, usage.ru_maxrss, out.read().decode(), errs.read().decode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_http(url: str, what: str) -> None:
    for _ in range(200):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # answered (401 from a gateway is an answer)
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{what} did not start at {url}")


@dataclass
class Case:
    name: str
    hand: list[float] = field(default_factory=list)
    hub: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)

    def row(self) -> str:
        hand = statistics.median(self.hand) if self.hand else float("nan")
        hub = statistics.median(self.hub)
        ratio = f"{hub / hand:.2f}" if self.hand else "-"
        hand_text = f"{hand:.2f} s" if self.hand else "-"
        rss = f" (peak RSS {max(self.rss_kib) / 1024:.0f} MiB)" if self.rss_kib else ""
        return f"| {self.name} | {hub:.2f} s{rss} | {hand_text} | {ratio} |"


class Bench:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.work = Path(tempfile.mkdtemp(prefix="hubpush-bench-"))
        self.containers: list[str] = []
        self.gateway: subprocess.Popen[bytes] | None = None
        self.images: set[str] = set()
        self.seen: set[str] = set()  # image IDs our references pointed at
        self.repos: dict[str, str] = {}
        self.docker_config = self.work / "docker-config"  # `docker login` for the gateway, not the user's own
        self.docker_config.mkdir()
        self.env = {**os.environ, "HUBPUSH_CONFIG_DIR": str(self.work / "hubpush-config"), "DOCKER_BUILDKIT": "0"}
        self.env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
        self.hand_env = {**os.environ, "DOCKER_BUILDKIT": "0", "DOCKER_CONFIG": str(self.docker_config)}

    def say(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    # --- set-up -----------------------------------------------------------------------------
    def start_registry(self) -> str:
        container = sh("docker", "run", "-d", "-p", "127.0.0.1::5000", "registry:2").stdout.strip()
        self.containers.append(container)
        port = sh("docker", "port", container, "5000/tcp").stdout.strip().splitlines()[0].rsplit(":", 1)[1]
        wait_http(f"http://127.0.0.1:{port}/v2/", "registry")
        return f"localhost:{port}"

    def start_gateway(self, upstream: str) -> str:
        port = free_port()
        env = {**self.env, "HUBPUSH_GATEWAY_TOKEN_KEY": secrets.token_hex(32)}
        args = [*HUBPUSH, "hub", "serve", "--upstream", f"http://{upstream}", "--listen", f"127.0.0.1:{port}"]
        log = open(self.work / "gateway.log", "wb")  # noqa: SIM115 (open while the gateway runs)
        self.gateway = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_http(f"http://127.0.0.1:{port}/v2/", "gateway")
        return f"localhost:{port}"

    def folder(self, label: str, payload_mb: int) -> Path:
        folder = self.work / label
        folder.mkdir()
        name = f"Bench{label.title().replace('-', '')}{uuid.uuid4().hex[:4]}"
        (folder / "config.yml").write_text(f"jtype: {name}\nmetas:\n  name: {name}\n")
        (folder / "executor.py").write_text("# benchmark executor\n")
        (folder / "Dockerfile").write_text(f"FROM {self.options.base}\nCOPY . /workdir/\n")
        self.refresh(folder, payload_mb)
        return folder

    @staticmethod
    def refresh(folder: Path, payload_mb: int) -> None:
        """Fresh random content (incompressible, like model weights): one layer really uploads."""
        with open(folder / "payload.bin", "wb") as handle:
            for _ in range(payload_mb):
                handle.write(os.urandom(1024 * 1024))

    def publish(self, folder: Path, registry: str, *extra: str) -> tuple[str, str, str]:
        """A first publish (not timed): NAME, SECRET, REGISTRY/REPOSITORY."""
        result = sh(*HUBPUSH, "push", "--json", "--registry", registry, str(folder), *extra, env=self.env)
        answer = json.loads(result.stdout)
        self.images.update(answer["image_references"])
        image = answer["image_references"][0].rsplit(":", 1)[0]  # REGISTRY/REPOSITORY
        self.repos[answer["name"]] = image
        return answer["name"], answer["secret"], image

    # --- the two sides ----------------------------------------------------------------------
    def hubpush(self, folder: Path, registry: str, name: str, secret: str, tags: list[str], case: Case | None) -> float:
        args = [*HUBPUSH, "push", "--registry", registry, "--force-update", name, "--secret", secret, str(folder)]
        args += [a for tag in tags for a in ("-t", tag)]
        elapsed, code, rss, out, errs = run_measured(args, self.env)
        if code != 0:
            sys.exit(f"hubpush push failed ({code}):\n{out}\n{errs}")
        if case is not None:
            case.rss_kib.append(rss)
        refs = [f"{self.repos[name]}:{tag}" for tag in tags]
        self.images.update(refs)
        self.seen |= self.image_ids(refs[:1])
        return elapsed

    def by_hand(self, folder: Path, image: str, tags: list[str]) -> float:
        start = time.perf_counter()
        sh("docker", "build", "-q", "-t", f"{image}:{tags[0]}", str(folder), env=self.hand_env)
        for tag in tags[1:]:
            sh("docker", "tag", f"{image}:{tags[0]}", f"{image}:{tag}", env=self.hand_env)
        for tag in tags:
            sh("docker", "push", "-q", f"{image}:{tag}", env=self.hand_env)
        elapsed = time.perf_counter() - start
        self.images.update(f"{image}:{tag}" for tag in tags)
        self.seen |= self.image_ids([f"{image}:{tags[0]}"])
        return elapsed

    def alternate(self, round_number: int, case: Case, hub: Callable[[], float], hand: Callable[[], float]) -> None:
        sides: list[tuple[str, Callable[[], float], list[float]]] = [("hubpush", hub, case.hub), ("by hand", hand, case.hand)]
        for label, side, results in sides if round_number % 2 == 0 else sides[::-1]:
            sh("sync")
            results.append(side())
            self.say(f"round {round_number + 1} {case.name:38s} {label:8s} {results[-1]:6.2f} s")

    # --- the run ----------------------------------------------------------------------------
    def run(self) -> list[Case]:
        o = self.options
        tags10 = [f"t{i}" for i in range(1, 11)]
        bare = self.start_registry()
        upstream = self.start_registry()
        gateway = self.start_gateway(upstream)
        hub_bare, hand_bare = self.folder("hub-bare", o.payload_mb), self.folder("hand-bare", o.payload_mb)
        hub_gw, hand_gw = self.folder("hub-gateway", o.payload_mb), self.folder("hand-gateway", o.payload_mb)
        self.say("set-up: first publishes and first pushes (base layers into each repository), not timed")
        name, secret, _ = self.publish(hub_bare, bare, "--protected-tag", "v1")
        gw_name, gw_secret, hand_gw_image = self.publish(hub_gw, gateway)
        login = subprocess.run(["docker", "login", "-u", gw_name, "--password-stdin", gateway], input=gw_secret,
                               capture_output=True, text=True, env=self.hand_env)  # fmt: skip
        if login.returncode != 0:
            sys.exit(f"docker login to the gateway failed:\n{login.stderr}")
        hand_image = f"{bare}/by-hand/executor"
        self.by_hand(hand_bare, hand_image, ["latest"])
        self.by_hand(hand_gw, hand_gw_image, ["by-hand"])
        self.hubpush(hub_bare, bare, name, secret, tags10, None)  # the 10 tags exist from here on
        self.by_hand(hand_bare, hand_image, tags10)

        cases = {key: Case(text) for key, text in [
            ("one", "bare registry, 1 tag"), ("ten", "bare registry, 10 tags"),
            ("hub", "through the hub gateway, 1 tag"), ("same", "unchanged folder pushed again"),
        ]}  # fmt: skip
        for number in range(o.rounds):
            for folder in (hub_bare, hand_bare):
                self.refresh(folder, o.payload_mb)
            self.alternate(number, cases["one"], lambda: self.hubpush(hub_bare, bare, name, secret, ["latest"], cases["one"]),
                           lambda: self.by_hand(hand_bare, hand_image, ["latest"]))  # fmt: skip
            self.alternate(number, cases["same"], lambda: self.hubpush(hub_bare, bare, name, secret, ["latest"], cases["same"]),
                           lambda: self.by_hand(hand_bare, hand_image, ["latest"]))  # fmt: skip
            for folder in (hub_bare, hand_bare):
                self.refresh(folder, o.payload_mb)
            self.alternate(number, cases["ten"], lambda: self.hubpush(hub_bare, bare, name, secret, tags10, cases["ten"]),
                           lambda: self.by_hand(hand_bare, hand_image, tags10))  # fmt: skip
            for folder in (hub_gw, hand_gw):
                self.refresh(folder, o.payload_mb)
            self.alternate(number, cases["hub"], lambda: self.hubpush(hub_gw, gateway, gw_name, gw_secret, ["latest"], cases["hub"]),
                           lambda: self.by_hand(hand_gw, hand_gw_image, ["by-hand"]))  # fmt: skip
            self.prune()
        results = list(cases.values())
        results += self.refusals(hub_bare, bare, name, secret)
        if o.big_mb:
            results.append(self.big(bare, name, secret, hub_bare, hand_bare, hand_image))
        return results

    def refusals(self, folder: Path, registry: str, name: str, secret: str) -> list[Case]:
        wrong = Case("refusal: wrong secret (hubpush alone)")
        protected = Case("refusal: protected tag (hubpush alone)")
        base = [*HUBPUSH, "push", "--registry", registry, "--force-update", name, str(folder)]
        for _ in range(self.options.rounds):
            for case, extra in ((wrong, ["--secret", "not-" + secret]), (protected, ["--secret", secret, "-t", "v1"])):
                elapsed, code, rss, _, errs = run_measured([*base, *extra], self.env)
                if code == 0 or "Building" in errs:
                    sys.exit(f"{case.name}: expected a refusal before any build (exit {code}):\n{errs}")
                case.hub.append(elapsed)
                case.rss_kib.append(rss)
                self.say(f"{case.name:44s} {elapsed:6.2f} s (exit {code})")
        return [wrong, protected]

    def big(self, registry: str, name: str, secret: str, hub_folder: Path, hand_folder: Path, hand_image: str) -> Case:
        case = Case(f"{self.options.big_mb} MB folder, bare registry, 1 tag")
        for number in range(self.options.big_rounds):
            for folder in (hub_folder, hand_folder):
                self.refresh(folder, self.options.big_mb)
            self.alternate(number, case, lambda: self.hubpush(hub_folder, registry, name, secret, ["big"], case),
                           lambda: self.by_hand(hand_folder, hand_image, ["big"]))  # fmt: skip
            self.prune()
        return case

    def prune(self) -> None:
        """Drop our images of earlier rounds (their tags moved on) by ID: the engine is shared."""
        current = self.image_ids(sorted(self.images))
        for image_id in self.seen - current:
            sh("docker", "rmi", "-f", image_id, check=False)
        self.seen = current

    @staticmethod
    def image_ids(refs: list[str]) -> set[str]:
        if not refs:
            return set()
        result = sh("docker", "image", "inspect", "--format", "{{.Id}}", *refs, check=False)
        return set(result.stdout.split())

    def close(self) -> None:
        if self.gateway is not None:
            self.gateway.terminate()
            self.gateway.wait(10)
        for image in sorted(self.images):
            sh("docker", "rmi", "-f", image, check=False)
        for container in self.containers:
            sh("docker", "rm", "-f", "-v", container, check=False)
        shutil.rmtree(self.work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="rounds per case (default 5)")
    parser.add_argument("--payload-mb", type=int, default=30, help="fresh random MiB per round (default 30)")
    parser.add_argument("--base", default="hubpush/debian-python:bookworm", help="base image (must exist locally)")
    parser.add_argument("--big-mb", type=int, default=500, help="the big folder's MiB; 0 skips that case (default 500)")
    parser.add_argument("--big-rounds", type=int, default=2, help="rounds of the big case (default 2)")
    options = parser.parse_args()
    bench = Bench(options)
    try:
        cases = bench.run()
    finally:
        bench.close()
    engine = sh("docker", "version", "--format", "{{.Server.Version}}").stdout.strip()
    print(f"\n{options.rounds} rounds, {options.payload_mb} MiB fresh per round, base {options.base}, "
          f"Docker {engine}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}\n")  # fmt: skip
    print("| case | hubpush (median) | by hand (median) | ratio |")
    print("|---|---|---|---|")
    for case in cases:
        print(case.row())


if __name__ == "__main__":
    main()
