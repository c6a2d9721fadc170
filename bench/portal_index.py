#!/usr/bin/env python3
"""Benchmark: the portal and the listing at hundreds of executors.

Seeds a fresh registry:2 with N executors (each: a metadata artifact as hubpush writes it, a
tiny image with one tag, half of them with a README, a tenth private), starts a
`hubpush hub serve` in front of it, and measures:

- the index's first build (time, and registry requests it cost);
- page views of every kind (Recent, All, a search, a page per executor, the JSON listing):
  p50 and p95 latency, and registry requests per page view (goal: 0 in the steady state);
- one refresh cycle of the index (registry requests it costs, per executor).

Registry requests are counted from the registry's own access log.

    .venv/bin/python bench/portal_index.py --executors 500 --views 200
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hubpush.core.metadata import ExecutorMetadata, ReadmeRecord, TagRecord, Visibility, utc_now
from hubpush.core.secrets import hash_secret
from hubpush.oci.client import RegistryClient
from hubpush.oci.media import OCI_MANIFEST
from hubpush.oci.metadata_store import MetadataStore

README = "# Bench executor\n\nEncodes things, quickly.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n" + "Some prose. " * 200


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seed(registry: RegistryClient, count: int) -> list[str]:
    """N executors as hubpush leaves them; returns their repositories."""
    store = MetadataStore(registry)
    secret_hash = hash_secret(secrets.token_urlsafe(32))  # one hash for all: scrypt is slow on purpose
    repositories = []
    for number in range(count):
        repository = f"bench-{number:04d}"
        config = json.dumps({"architecture": "amd64", "os": "linux", "n": number}).encode()
        layer = os.urandom(256)
        config_digest, layer_digest = registry.push_blob(repository, config), registry.push_blob(repository, layer)
        manifest = {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": len(layer)}],
        }  # fmt: skip
        digest = registry.put_manifest(repository, "latest", json.dumps(manifest).encode(), OCI_MANIFEST)
        now = utc_now()
        metadata = ExecutorMetadata(
            name=f"Bench{number:04d}", repository=repository,
            visibility=Visibility.PRIVATE if number % 10 == 0 else Visibility.PUBLIC, secret_hash=secret_hash,
            created_at=now, updated_at=now, description=f"bench executor number {number}", keywords=["bench", f"k{number % 7}"],
            tags={"latest": TagRecord(digest=digest, pushed_at=now)},
        )  # fmt: skip
        if number % 2 == 0:
            metadata.readme = store.write_readme(repository, README, truncated=False)
        assert isinstance(metadata.readme, (ReadmeRecord, type(None)))
        store.write(metadata)
        repositories.append(repository)
    return repositories


def registry_requests(container) -> int:
    """Requests the registry answered so far (one "response completed" line each)."""
    return container.logs().decode("utf-8", "replace").count("response completed")


def timed_get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
        assert response.status == 200, url
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executors", type=int, default=500)
    parser.add_argument("--views", type=int, default=200, help="page views of each kind")
    args = parser.parse_args()

    engine = docker.from_env(version="auto")
    port, gateway_port = free_port(), free_port()
    container = engine.containers.run("registry:2", detach=True, ports={"5000/tcp": ("127.0.0.1", port)}, remove=True)
    gateway = None
    try:
        registry = RegistryClient(f"http://127.0.0.1:{port}", trust_env=False)
        for _ in range(50):
            try:
                registry.ping()
                break
            except Exception:
                time.sleep(0.1)
        started = time.perf_counter()
        repositories = seed(registry, args.executors)
        print(f"seeded {len(repositories)} executors in {time.perf_counter() - started:.1f} s")

        env = {**os.environ, "HUBPUSH_GATEWAY_TOKEN_KEY": secrets.token_hex(32), "HUBPUSH_GATEWAY_INDEX_SECONDS": "3600"}
        log = Path(tempfile.mkdtemp()) / "gateway.log"
        before_build = registry_requests(container)
        started = time.perf_counter()
        gateway = subprocess.Popen(
            [sys.executable, "-m", "hubpush", "hub", "serve", "--upstream", f"http://127.0.0.1:{port}", "--listen", f"127.0.0.1:{gateway_port}"],
            stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        base = f"http://127.0.0.1:{gateway_port}"
        for _ in range(300):
            try:
                timed_get(f"{base}/")  # the first page waits for the index's first build
                break
            except OSError:
                time.sleep(0.1)
        build_seconds = time.perf_counter() - started
        build_requests = registry_requests(container) - before_build
        print(f"index built: {build_seconds:.2f} s (with the gateway's start), {build_requests} registry requests "
              f"({build_requests / len(repositories):.1f} per executor)")  # fmt: skip

        public = [repository for number, repository in enumerate(repositories) if number % 10]
        kinds = {
            "Recent": lambda i: f"{base}/",
            "All": lambda i: f"{base}/?tab=all&page={1 + i % 10}",
            "search": lambda i: f"{base}/?q=k{i % 7}",
            "executor page": lambda i: f"{base}/executors/{public[i % len(public)]}",
            "JSON listing": lambda i: f"{base}/hubpush/v1/executors?sort=name&page={1 + i % 10}",
        }
        print(f"\n{'page':<15} {'p50 ms':>8} {'p95 ms':>8} {'registry requests / view':>26}")
        for kind, url in kinds.items():
            before = registry_requests(container)
            times = [timed_get(url(i)) for i in range(args.views)]
            per_view = (registry_requests(container) - before) / args.views
            print(f"{kind:<15} {statistics.median(times) * 1000:8.1f} {percentile(times, 0.95) * 1000:8.1f} {per_view:26.2f}")
        gateway.terminate()
        gateway.wait(timeout=10)
        gateway = None
        rate, cycle = refresh_requests(container, port, env)
        print(f"\nrefreshing every {cycle:g} s with nothing changed: {rate:.0f} registry requests/s "
              f"({rate * cycle / len(repositories):.2f} per executor per interval; a cycle reads the catalog and "
              "one small manifest per executor, and re-reads only what changed)")  # fmt: skip
    finally:
        if gateway is not None:
            gateway.terminate()
            gateway.wait(timeout=10)
        container.stop()


def refresh_requests(container, port: int, env: dict[str, str], cycle: float = 5.0, cycles: int = 3) -> tuple[float, float]:
    """Registry requests per index refresh once everything is known (only the catalog and digests are read)."""
    gateway_port = free_port()
    gateway = subprocess.Popen(
        [sys.executable, "-m", "hubpush", "hub", "serve", "--upstream", f"http://127.0.0.1:{port}", "--listen", f"127.0.0.1:{gateway_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env={**env, "HUBPUSH_GATEWAY_INDEX_SECONDS": str(cycle)},
    )  # fmt: skip
    try:
        for _ in range(300):
            try:
                timed_get(f"http://127.0.0.1:{gateway_port}/")
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(cycle)  # past the first build
        before = registry_requests(container)
        time.sleep(cycle * cycles)
        return (registry_requests(container) - before) / (cycle * cycles), cycle
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)


if __name__ == "__main__":
    main()
