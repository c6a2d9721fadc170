"""A registry behind TLS with a private CA: hubpush trusts what docker trusts (certs.d)."""

from __future__ import annotations

import subprocess
import time

import pytest
import requests
from testcontainers.core.container import DockerContainer

from hubpush.core.names import repository_for


@pytest.fixture
def tls_registry(docker_client, tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(certs / "domain.key"), "-out", str(certs / "domain.crt")],
        check=True, capture_output=True,
    )  # fmt: skip
    certs.chmod(0o755)
    (certs / "domain.key").chmod(0o644)  # the registry runs as root in the container; the key is throwaway
    container = (
        DockerContainer("registry:2")
        .with_exposed_ports(5000)
        .with_volume_mapping(str(certs), "/certs", "ro")
        .with_env("REGISTRY_HTTP_TLS_CERTIFICATE", "/certs/domain.crt")
        .with_env("REGISTRY_HTTP_TLS_KEY", "/certs/domain.key")
    )
    container.start()
    address = f"localhost:{container.get_exposed_port(5000)}"
    for _ in range(100):
        try:
            requests.get(f"https://{address}/v2/", verify=str(certs / "domain.crt"), timeout=1)
            break
        except requests.exceptions.RequestException:
            time.sleep(0.1)
    try:
        yield address, certs / "domain.crt"
    finally:
        container.stop()


def test_tls_registry_with_private_ca(hubpush, make_executor, tls_registry, tmp_path):
    address, ca = tls_registry
    folder, name = make_executor()
    untrusted = hubpush("push", folder, "--registry", f"https://{address}", env={"HUBPUSH_DOCKER_CERTS_DIR": str(tmp_path / "none")})
    assert untrusted.exit_code == 30, untrusted.stderr
    assert "TLS certificate" in untrusted.stderr and f"{address}/ca.crt" in untrusted.stderr

    certs_d = tmp_path / "certs.d" / address
    certs_d.mkdir(parents=True)
    (certs_d / "ca.crt").write_bytes(ca.read_bytes())
    result = hubpush("push", "--json", folder, "--registry", f"https://{address}", env={"HUBPUSH_DOCKER_CERTS_DIR": str(tmp_path / "certs.d")})
    assert result.exit_code == 0, result.stderr
    tags = requests.get(f"https://{address}/v2/{repository_for(name)}/tags/list", verify=str(ca), timeout=10).json()["tags"]
    assert tags == ["latest"]
    assert result.json["image_references"] == [f"{address}/{repository_for(name)}:latest"]
