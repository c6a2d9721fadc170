"""A fault injector in front of a real registry: forwards every request except
blob uploads to one repository, which it refuses the way a full or read-only
registry does. Used to provoke errors *inside* the Docker engine's push stream."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization", "content-length"}


class FaultyRegistryProxy:
    def __init__(self, upstream: str, refuse_blob_uploads_to: str | None = None, watch_manifests_of: str | None = None) -> None:
        self.upstream = f"http://{upstream}"
        self.refused_prefix = f"/v2/{refuse_blob_uploads_to}/blobs/uploads/" if refuse_blob_uploads_to else None
        self.refused = 0
        #: for each image manifest PUT to `watch_manifests_of`: (tag, the executor's metadata at that moment)
        self.watched_prefix = f"/v2/{watch_manifests_of}/manifests/" if watch_manifests_of else None
        self.watch_repository = watch_manifests_of
        self.manifest_puts: list[tuple[str, dict | None]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                if self.command == "PUT" and proxy.watched_prefix and self.path.startswith(proxy.watched_prefix):
                    proxy.manifest_puts.append((self.path.rsplit("/", 1)[1], proxy.metadata_now()))
                if self.command == "POST" and proxy.refused_prefix and self.path.startswith(proxy.refused_prefix):
                    proxy.refused += 1
                    body = b'{"errors":[{"code":"DENIED","message":"blob uploads refused by the test proxy"}]}'
                    self.send_response(403)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
                upstream = requests.request(
                    self.command, proxy.upstream + self.path, headers=headers, data=data, allow_redirects=False, timeout=60
                )
                self.send_response(upstream.status_code)
                for key, value in upstream.headers.items():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(upstream.content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(upstream.content)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"localhost:{self._server.server_address[1]}"

    def metadata_now(self) -> dict | None:
        """The executor's metadata document as the registry holds it right now."""
        meta = f"{self.upstream}/v2/hubpush-meta/{self.watch_repository}"
        response = requests.get(f"{meta}/manifests/current", headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}, timeout=10)
        if response.status_code != 200:
            return None
        return requests.get(f"{meta}/blobs/{response.json()['config']['digest']}", timeout=10).json()

    def __enter__(self) -> FaultyRegistryProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
