"""Registry addresses: ``[http(s)://]HOST[:PORT][/NAMESPACE]`` as ``--registry`` takes them. Pure."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse

from ..core.names import METADATA_NAMESPACE, PATH_COMPONENT_PATTERN
from ..errors import InvalidRegistryAddressError


def parse_registry_address(address: str) -> tuple[str, str, str]:
    """``[scheme://]host[:port][/namespace]`` -> (base URL, ``host:port``, namespace).

    Plain HTTP for loopback hosts (as the Docker engine does), HTTPS otherwise, unless the
    address names its scheme. The namespace is a repository prefix (a Harbor project, a
    GitLab group...), so ``host/team/ml`` keeps every executor under ``team/ml/``.
    """
    given = address
    if "://" not in address:
        host = urlparse(f"//{address}").hostname or ""
        address = f"{'http' if is_loopback(host) else 'https'}://{address}"
    parsed = urlparse(address)
    if not parsed.hostname or parsed.scheme not in ("http", "https"):
        raise InvalidRegistryAddressError(f"--registry {given!r} is not HOST[:PORT][/NAMESPACE]; write e.g. localhost:5000.")
    namespace = parsed.path.strip("/")
    parts = namespace.split("/") if namespace else []
    if not all(PATH_COMPONENT_PATTERN.fullmatch(part) for part in parts):
        raise InvalidRegistryAddressError(
            f"{namespace!r} in --registry {given} is not a valid repository path: use lower-case letters, "
            "digits and '.', '_', '-' separated by '/'."
        )
    if METADATA_NAMESPACE in parts:
        raise InvalidRegistryAddressError(
            f"--registry {given} points inside '{METADATA_NAMESPACE}', where hubpush keeps metadata; choose another namespace."
        )
    return f"{parsed.scheme}://{parsed.netloc}", parsed.netloc, namespace


def is_loopback(host: str, *, or_unspecified: bool = False) -> bool:
    """``localhost`` or a loopback IP (with ``or_unspecified``, also ``0.0.0.0`` and ``::``,
    which a server listens on to be reached at loopback too)."""
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or (or_unspecified and ip.is_unspecified)


def join_host_port(host: str, port: int) -> str:
    """``host:port``, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
