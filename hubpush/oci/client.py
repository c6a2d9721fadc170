"""A small, typed client for the OCI distribution API (our twine ``repository.py``).

Only what hubpush needs: ping, tag lists, manifests and small blobs. Image layers
never pass through here: the Docker engine uploads them itself. Works against any
OCI registry; registry 2.8 (no referrers API) is the baseline.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from urllib.parse import urljoin

import requests
from requests.utils import parse_dict_header

from ..config import TIMEOUT_ENV, docker_certs_dir, request_timeout
from ..errors import RateLimitedError, RegistryAuthError, RegistryError, RegistryUnreachableError
from .auth import docker_credentials, tls_settings
from .media import MANIFEST_ACCEPT, OCI_MANIFEST, Manifest, sha256_digest
from .reference import parse_registry_address


class RegistryClient:
    """Talks to one registry. ``address`` is ``host:port`` or a full ``http(s)://`` URL.

    Plain HTTP is used for loopback addresses (as the Docker engine does), HTTPS
    otherwise, unless the address names its scheme.
    """

    def __init__(
        self, address: str, *, timeout: float | None = None, credentials: tuple[str, str] | None = None, trust_env: bool = True
    ) -> None:
        self.base_url, self.host, self.namespace = parse_registry_address(address)
        #: seconds to wait for one answer; default HUBPUSH_TIMEOUT_SECONDS (30)
        self.timeout = request_timeout() if timeout is None else timeout
        self._session = requests.Session()
        #: False for the gateway's own registry: it is reached directly, never through HTTP_PROXY
        self._session.trust_env = trust_env
        self._session.headers["User-Agent"] = "hubpush"
        # passed on every request: requests would otherwise let REQUESTS_CA_BUNDLE override a session setting
        self._verify, self._cert = tls_settings(self.host)
        #: explicit credentials, else what `docker login` stored for this host (looked up lazily)
        self._credentials = credentials
        self._credentials_looked_up = credentials is not None

    # --- plumbing ---------------------------------------------------------------
    def _send(self, method: str, url: str, **kwargs: object) -> requests.Response:
        if isinstance(kwargs.get("auth"), tuple):
            kwargs["auth"] = utf8_basic(kwargs["auth"])  # type: ignore[arg-type]
        try:
            return self._session.request(
                method, url, timeout=self.timeout, verify=self._verify, cert=self._cert, **kwargs  # type: ignore[arg-type]
            )
        except requests.exceptions.SSLError:
            raise RegistryUnreachableError(
                f"The TLS certificate of the registry at {self.host} is not trusted; put its CA in "
                f"{docker_certs_dir()}/{self.host}/ca.crt (as docker expects) or the system CA store, "
                f"or write --registry http://{self.location} for a plain-HTTP registry."
            ) from None
        except requests.exceptions.Timeout:
            raise RegistryUnreachableError(
                f"The registry (or hub) at {self.host} did not answer within {self.timeout:g} s ({TIMEOUT_ENV}); "
                "it hangs or the link is too slow: check it, or raise the wait."
            ) from None
        except requests.exceptions.RequestException as exc:
            raise RegistryUnreachableError(
                f"The registry at {self.host} cannot be reached ({exc.__class__.__name__}); "
                "start it, or pass --registry HOST:PORT (or set HUBPUSH_REGISTRY)."
            ) from None

    def _request(self, method: str, path_or_url: str, **kwargs: object) -> requests.Response:
        """One API call; on a 401 challenge, authenticate the standard way and retry once."""
        url = urljoin(self.base_url, path_or_url)
        response = self._send(method, url, **kwargs)
        if _wants_other_token(response) and self._authenticate(response.headers.get("WWW-Authenticate", "")):
            response = self._send(method, url, **kwargs)
        return response

    def credentials(self) -> tuple[str, str] | None:
        """Explicit credentials, else what ``docker login`` stored for this host (looked up once)."""
        if not self._credentials_looked_up:
            self._credentials = docker_credentials(self.host)
            self._credentials_looked_up = True
        return self._credentials

    def _authenticate(self, challenge: str) -> bool:
        """Answer a ``WWW-Authenticate`` challenge: Basic, or a Bearer token from the realm.

        Returns False when there is nothing better to send, so the 401 stands.
        """
        scheme, _, params = challenge.partition(" ")
        credentials = self.credentials()
        if scheme.lower() == "basic":
            if not credentials or self._session.auth == utf8_basic(credentials):
                return False
            self._session.auth = utf8_basic(credentials)
            return True
        if scheme.lower() != "bearer":
            return False
        fields = parse_dict_header(params)
        realm = fields.pop("realm", None)
        if not realm:
            return False
        query = {key: value for key, value in fields.items() if key in ("service", "scope") and value}
        token_response = self._send("GET", realm, params=query, auth=credentials)
        if token_response.status_code == 429:
            raise rate_limited(token_response, self.host)
        if token_response.status_code != 200:
            return False
        body = token_response.json()
        token = body.get("token") or body.get("access_token")
        if not token or self._session.headers.get("Authorization") == f"Bearer {token}":
            return False
        self._session.headers["Authorization"] = f"Bearer {token}"
        return True

    def _fail(self, response: requests.Response, what: str) -> RegistryError | RegistryUnreachableError | RateLimitedError:
        if response.status_code == 429:
            return rate_limited(response, self.host)
        if response.status_code in (401, 403):
            how = "the credentials of 'docker login' were refused" if self.credentials() else f"run 'docker login {self.host}' first"
            return RegistryAuthError(
                f"The registry at {self.host} refused to {what} without valid credentials (HTTP {response.status_code}); {how}."
            )
        behind = _upstream_failure(response)
        if behind:
            return RegistryUnreachableError(f"The hub at {self.host} is up, but could not {what}: {behind}")
        body = response.text[:300].strip().replace("\n", " ")
        return RegistryError(f"The registry at {self.host} refused to {what} (HTTP {response.status_code}: {body}).")

    def within(self, namespace: str) -> RegistryClient:
        """The same registry and connection pool under another namespace (a valid path, checked
        by the caller): the gateway serves every namespace with one pool of connections."""
        clone = copy.copy(self)
        clone.namespace = namespace
        return clone

    def at(self, path: str) -> tuple[RegistryClient, str]:
        """For an absolute repository path (``team/ml/hello``, as catalogs list them): the client of its
        namespace (``team/ml``, sharing this pool) and its last component (``hello``)."""
        namespace, _, repository = path.rpartition("/")
        return self.within(namespace), repository

    # --- naming -------------------------------------------------------------------
    @property
    def location(self) -> str:
        """``host:port[/namespace]``: what image references start with."""
        return f"{self.host}/{self.namespace}" if self.namespace else self.host

    def qualified(self, name: str) -> str:
        """``name`` under this address's namespace: a repository's full path in the registry, or an
        executor's registry user name. Callers name things relative to the namespace, so the rest
        of hubpush never builds that prefix itself."""
        return f"{self.namespace}/{name}" if self.namespace else name

    # --- API ----------------------------------------------------------------------
    def ping(self) -> None:
        """Raise unless something that speaks the distribution API answers."""
        response = self._request("GET", "/v2/")
        if response.status_code not in (200, 401):
            raise RegistryUnreachableError(
                f"{self.host} answered HTTP {response.status_code} on /v2/, so it is not an OCI registry; "
                "check --registry."
            )

    def send(self, method: str, path: str, **kwargs: object) -> requests.Response:
        """A plain request to a path of the registry's host (the hub API of a gateway), no auth dance."""
        return self._send(method, urljoin(self.base_url, path), **kwargs)

    def list_tags(self, repository: str) -> list[str] | None:
        """All tags of ``repository``, or None when the repository does not exist."""
        tags: list[str] = []
        url = f"/v2/{self.qualified(repository)}/tags/list?n=1000"
        while url:
            response = self._request("GET", url)
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise self._fail(response, f"list the tags of {repository}")
            tags.extend(response.json().get("tags") or [])
            url = response.links.get("next", {}).get("url", "")
        return tags

    def catalog(self) -> list[str]:
        """Every repository the registry holds (full paths, whatever the namespace), page by page."""
        names: list[str] = []
        url = "/v2/_catalog?n=1000"
        while url:
            response = self._request("GET", url)
            if response.status_code in (404, 405):
                raise RegistryError(
                    f"The registry at {self.host} does not list its repositories (no catalog API, HTTP {response.status_code}), "
                    "so hubpush cannot list its executors; run the hub gateway in front of it ('hubpush hub up')."
                )
            if response.status_code != 200:
                raise self._fail(response, "list its repositories")
            names.extend(response.json().get("repositories") or [])
            url = response.links.get("next", {}).get("url", "")
        return names

    def image_size(self, repository: str, digest: str) -> int | None:
        """Compressed bytes of the image at ``digest``: config and layers (for an index, its first image).
        None when the registry does not hold it or its manifest cannot be read."""
        try:
            manifest = self.get_manifest(repository, digest)
            if manifest is None:
                return None
            document = json.loads(manifest.raw)
            if document.get("manifests"):
                manifest = self.get_manifest(repository, document["manifests"][0]["digest"])
                document = json.loads(manifest.raw) if manifest else {}
            parts = [document.get("config") or {}, *(document.get("layers") or [])]
            return sum(int(part.get("size", 0)) for part in parts) if parts[1:] or parts[0] else None
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    def get_manifest(self, repository: str, reference: str) -> Manifest | None:
        """The manifest at ``reference`` (tag or digest) exactly as stored, or None when there is none."""
        response = self._request("GET", f"/v2/{self.qualified(repository)}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._fail(response, f"read manifest {repository}:{reference}")
        media_type = response.headers.get("Content-Type", OCI_MANIFEST).split(";")[0]
        return Manifest(raw=response.content, media_type=media_type, digest=sha256_digest(response.content))

    def put_manifest(self, repository: str, reference: str, raw: bytes, media_type: str) -> str:
        """Store a manifest under ``reference``; return its digest."""
        response = self._request(
            "PUT", f"/v2/{self.qualified(repository)}/manifests/{reference}", data=raw, headers={"Content-Type": media_type}
        )
        if response.status_code not in (200, 201):
            raise self._fail(response, f"store manifest {repository}:{reference}")
        return response.headers.get("Docker-Content-Digest") or sha256_digest(raw)

    def delete_manifest(self, repository: str, digest: str) -> bool:
        """Delete a manifest; False when the registry does not allow deletes (registry:2's default)."""
        response = self._request("DELETE", f"/v2/{self.qualified(repository)}/manifests/{digest}")
        if response.status_code in (200, 202):
            return True
        if response.status_code in (404, 405):
            return False
        raise self._fail(response, f"delete manifest {digest} of {repository}")

    def push_blob(self, repository: str, data: bytes, *, probe: bool = True) -> str:
        """Upload a small blob (metadata documents); return its digest. ``probe=False`` skips asking
        whether the registry has it already, for content that is new nearly every time (one request less)."""
        digest = sha256_digest(data)
        if not (probe and self._has_blob(repository, digest)):
            self._upload(repository, digest, data, {})
        return digest

    def push_blob_file(self, repository: str, path: Path, digest: str) -> int:
        """Upload the file at ``path`` (whose digest the caller computed while writing it) as one
        blob, streamed from disk, never held in memory; return its size."""
        size = path.stat().st_size
        if not self._has_blob(repository, digest):
            with path.open("rb") as body:
                self._upload(repository, digest, body, {"Content-Length": str(size)})
        return size

    def _has_blob(self, repository: str, digest: str) -> bool:
        return self._request("HEAD", f"/v2/{self.qualified(repository)}/blobs/{digest}").status_code == 200

    def _upload(self, repository: str, digest: str, body: object, headers: dict[str, str]) -> None:
        """A monolithic upload: start it, then PUT the whole body with its digest."""
        started = self._request("POST", f"/v2/{self.qualified(repository)}/blobs/uploads/")
        if started.status_code != 202 or "Location" not in started.headers:
            raise self._fail(started, f"start a blob upload to {repository}")
        location = started.headers["Location"]
        separator = "&" if "?" in location else "?"
        finished = self._request(
            "PUT",
            f"{location}{separator}digest={digest}",
            data=body,
            headers={"Content-Type": "application/octet-stream", **headers},
        )
        if finished.status_code != 201:
            raise self._fail(finished, f"finish a blob upload to {repository}")

    def get_blob(self, repository: str, digest: str) -> bytes:
        """Read a small blob whole. Image layers are never read this way."""
        response = self._request("GET", f"/v2/{self.qualified(repository)}/blobs/{digest}")
        if response.status_code != 200:
            raise self._fail(response, f"read blob {digest} of {repository}")
        if sha256_digest(response.content) != digest:
            raise RegistryError(f"The registry at {self.host} returned a blob of {repository} that does not match {digest}.")
        return response.content


def _upstream_failure(response: requests.Response) -> str:
    """The hub gateway's sentence when the registry behind it failed (its 502 says so in the detail), else ""."""
    if response.status_code != 502:
        return ""
    try:
        error = response.json()["errors"][0]
        return str(error["message"]) if error["detail"]["component"] == "registry-behind-hub" else ""
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def _wants_other_token(response: requests.Response) -> bool:
    """A 401 challenge, or a 403 whose challenge says the token lacks the scope (a pull token reused for a push,
    as a hub gateway answers a PUT after a GET of a private executor): both are answered with a new token."""
    if response.status_code == 401:
        return True
    return response.status_code == 403 and 'error="insufficient_scope"' in response.headers.get("WWW-Authenticate", "")


def rate_limited(response: requests.Response, host: str) -> RateLimitedError:
    """HTTP 429: the registry's (or hub's) own sentence when its OCI error body has one, and its ``Retry-After``."""
    retry = response.headers.get("Retry-After", "")
    seconds = int(retry) if retry.isdigit() and len(retry) < 7 else 0
    try:
        message = str(response.json()["errors"][0]["message"])[:300]
    except (ValueError, KeyError, IndexError, TypeError):
        wait = f"in {seconds} seconds" if seconds else "later"
        message = f"The registry at {host} refused: too many requests (HTTP 429); try again {wait}."
    return RateLimitedError(message, retry_after=seconds or 1)
def utf8_basic(credentials: tuple[str, str] | tuple[bytes, bytes]) -> requests.auth.HTTPBasicAuth:
    """Basic auth as UTF-8 (RFC 7617), which the gateway and the docker engine speak: requests would
    encode text as Latin-1, failing on any other character and mangling the rest."""
    user, secret = credentials
    return requests.auth.HTTPBasicAuth(
        user.encode("utf-8") if isinstance(user, str) else user, secret.encode("utf-8") if isinstance(secret, str) else secret
    )
