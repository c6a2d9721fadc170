"""How hubpush authenticates to a registry and trusts it: as ``docker push`` does.

Credentials come from what ``docker login`` stored (config.json or a credential helper),
TLS trust from docker's ``certs.d``; the 401 challenge itself is answered by
:class:`~hubpush.oci.client.RegistryClient`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..config import docker_certs_dir

SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def docker_credentials(host: str) -> tuple[str, str] | None:
    """The credentials ``docker login HOST`` stored (config.json or a credential helper)."""
    import docker.auth  # docker-py is a big import: only when a registry asks for credentials
    import docker.errors

    try:
        config = docker.auth.load_config()
        found = docker.auth.resolve_authconfig(config, host) or {}
    except (docker.errors.DockerException, OSError, ValueError):
        return None
    username, password = found.get("username") or found.get("Username"), found.get("password") or found.get("Password")
    return (username, password) if username and password else None


def tls_settings(host: str) -> tuple[str | bool, tuple[str, str] | None]:
    """Trust what ``docker push`` trusts for this registry, so both agree on TLS.

    The CA in ``/etc/docker/certs.d/HOST/ca.crt`` (and a client certificate there for
    mutual TLS), else ``REQUESTS_CA_BUNDLE``, else the system's CA bundle -- which is where
    a company's internal CA is usually installed.
    """
    folder = docker_certs_dir() / host
    client = (str(folder / "client.cert"), str(folder / "client.key"))
    cert = client if all(Path(p).is_file() for p in client) else None
    if (folder / "ca.crt").is_file():
        return str(folder / "ca.crt"), cert
    if os.environ.get("REQUESTS_CA_BUNDLE"):
        return os.environ["REQUESTS_CA_BUNDLE"], cert
    return (str(SYSTEM_CA_BUNDLE) if SYSTEM_CA_BUNDLE.is_file() else True), cert
