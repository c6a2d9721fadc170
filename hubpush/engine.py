"""The Docker engine: build an image from a context, tag it, push and pull it.

docker-py against ``DOCKER_HOST`` or the default socket. Build, push and pull
answer with JSON streams; errors can arrive *inside* those streams, so every
message is inspected, not just the HTTP status.
"""

from __future__ import annotations

import re
from collections import deque
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import PUSH_STALL_ENV, WAIT_LINE_SECONDS, push_stall_seconds
from .errors import BuildFailedError, DockerUnreachableError, PlatformMismatchError, PullFailedError, PushFailedError, RateLimitedError

#: how many build log lines a failure shows
LOG_TAIL = 25
_STEP_LINE = re.compile(r"^Step \d+/\d+ : ")

LogSink = Callable[[str], None]

if TYPE_CHECKING:  # docker-py (and requests with it) is imported once the engine is needed: refusals never pay for it
    import docker


#: what :func:`watched` yields when its stream said nothing for too long
STALLED: dict[str, Any] = {}


def watched(stream: Iterable[dict[str, Any]], stall: float, on_quiet: Callable[[float], None], every: float = WAIT_LINE_SECONDS) -> Iterator[dict[str, Any]]:
    """``stream``'s items, read in a thread so that silence can be noticed: ``on_quiet(seconds)`` every
    ``every`` seconds without an item, and :data:`STALLED` once ``stall`` seconds passed without one.
    An error of the stream is raised here. The reading thread is a daemon: a hung engine never keeps
    the process alive."""
    items: queue.Queue[tuple[str, Any]] = queue.Queue()

    def read() -> None:
        try:
            for item in stream:
                items.put(("item", item))
            items.put(("end", None))
        except BaseException as exc:  # handed to the caller's thread, which raises it
            items.put(("error", exc))

    threading.Thread(target=read, name="hubpush-push-stream", daemon=True).start()
    last = time.monotonic()
    while True:
        try:
            what, value = items.get(timeout=min(every, max(stall - (time.monotonic() - last), 0.01)))
        except queue.Empty:
            quiet = time.monotonic() - last
            if quiet >= stall:
                yield STALLED
                return
            on_quiet(quiet)
            continue
        if what == "end":
            return
        if what == "error":
            raise value
        last = time.monotonic()
        yield value


def _waiting(repository: str, tag: str, quiet: float, stall: float) -> str:
    return f"Still pushing {repository}:{tag}: nothing from the registry for {quiet:.0f} s (giving up after {stall:g} s, {PUSH_STALL_ENV})"


def _ignore(_: str) -> None:
    return None


@dataclass(frozen=True)
class BuildRequest:
    """One image build: the streamed context and what the engine needs to know about it."""

    #: the tar archive, as chunks (streamed with chunked transfer encoding)
    context: Iterable[bytes]
    dockerfile: str
    tag: str
    labels: dict[str, str]
    buildargs: dict[str, str]
    nocache: bool = False
    platform: str | None = None
    #: the context's Dockerfile already ends with one ``LABEL`` of ``labels``: one build step,
    #: where the engine's ``labels=`` option adds one step (a container run and commit) per label
    labels_in_dockerfile: bool = False


def connect(timeout: float = 60) -> docker.DockerClient:
    """A client of the engine at ``DOCKER_HOST`` (or the default socket) that answered a ping."""
    import docker
    import requests.exceptions

    try:
        client = docker.from_env(version="auto", timeout=timeout)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise DockerUnreachableError(
            f"The Docker engine does not answer ({short_reason(exc)}); start it, or point DOCKER_HOST at one."
        ) from None
    return client


class DockerEngine:
    """Builds, tags, pushes and pulls images on one Docker engine."""

    def __init__(self, client: docker.DockerClient | None = None, *, build_seconds: float | None = None) -> None:
        # builds and pushes of large images keep one request open for minutes
        self._client = client or connect(timeout=600)
        #: the longest a build may go without output (docker-py waits forever by default); the engine
        #: stops a build whose connection closes. None: no limit (the CLI's builds)
        self.build_seconds = build_seconds

    @property
    def api(self) -> docker.APIClient:
        """docker-py's low-level client, whose streams carry the errors."""
        return self._client.api

    def build(self, request: BuildRequest, on_log: LogSink = _ignore) -> str:
        """Build and tag the image; return its image ID. Streams log lines to ``on_log``."""
        import docker.errors
        import requests.exceptions

        import urllib3.exceptions

        tail: deque[str] = deque(maxlen=LOG_TAIL)
        current_step = ""
        image_id = ""
        kwargs: dict[str, Any] = dict(
            fileobj=request.context,
            custom_context=True,
            dockerfile=request.dockerfile,
            tag=request.tag,
            labels=None if request.labels_in_dockerfile else request.labels,
            buildargs=request.buildargs,
            nocache=request.nocache,
            rm=True,
            forcerm=True,
            decode=True,
        )
        if request.platform:
            kwargs["platform"] = request.platform
        if self.build_seconds is not None:
            kwargs["timeout"] = self.build_seconds
        try:
            for chunk in self.api.build(**kwargs):
                if "error" in chunk:
                    raise _build_failed(chunk["error"], current_step, tail)
                if "aux" in chunk and "ID" in chunk["aux"]:
                    image_id = chunk["aux"]["ID"]
                for line in str(chunk.get("stream", "")).splitlines():
                    if not line.strip():
                        continue
                    if _STEP_LINE.match(line):
                        current_step = line
                        tail.clear()
                    tail.append(line)
                    on_log(line)
        except docker.errors.APIError as exc:
            raise _build_failed(exc.explanation or str(exc), current_step, tail) from None
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:  # urllib3's: a read timeout mid-stream
            raise DockerUnreachableError(f"Lost the Docker engine during the build ({short_reason(exc)}).") from None
        if not image_id:
            image_id = self._client.images.get(request.tag).id
        if request.platform:
            self._check_platform(image_id, request.platform)
        return image_id

    def _check_platform(self, image_id: str, requested: str) -> None:
        """Engines without cross-building quietly build for their own platform: never push that."""
        attrs = self._client.images.get(image_id).attrs
        built = "/".join(p for p in (attrs.get("Os"), attrs.get("Architecture"), attrs.get("Variant")) if p)
        if normalize_platform(built) != normalize_platform(requested):
            raise PlatformMismatchError(
                f"The engine built a {built} image although --platform {requested} was asked (it cannot build for "
                f"that platform: the base image or emulation is missing); nothing was pushed."
            )

    def tag(self, image_id: str, repository: str, tag: str) -> None:
        """Tag the image ``image_id`` as ``repository:tag`` in the engine."""
        self.api.tag(image_id, repository, tag=tag)

    def push(
        self, repository: str, tag: str, on_log: LogSink = _ignore, *, credentials: tuple[str, str] | None = None,
        on_wait: LogSink = _ignore,
    ) -> str:
        """Push ``repository:tag``; return the manifest digest the registry stored.

        ``credentials`` (a hub executor's NAME and SECRET) are handed to the engine for this
        push only; without them the engine uses what ``docker login`` stored. While the engine
        says nothing, ``on_wait`` hears so every few seconds; after HUBPUSH_PUSH_STALL_SECONDS
        of silence the push gives up.
        """
        import docker.errors
        import requests.exceptions

        digest = ""
        stall = push_stall_seconds()
        said_retry = -WAIT_LINE_SECONDS
        try:
            stream: Iterable[dict[str, Any]] = self.api.push(
                repository, tag=tag, stream=True, decode=True, auth_config=_auth_config(credentials)
            )
            for chunk in watched(stream, stall, lambda quiet: on_wait(_waiting(repository, tag, quiet, stall))):
                if chunk is STALLED:
                    raise PushFailedError(
                        f"Pushing {repository}:{tag} stalled: nothing from the registry for {stall:g} s ({PUSH_STALL_ENV}); "
                        "the registry (or the hub) hangs or the link is too slow."
                    )
                if "error" in chunk:
                    _raise_if_rate_limited(chunk["error"])
                    raise PushFailedError(
                        f"Pushing {repository}:{tag} failed: {chunk['error'].strip()}; check the registry and retry."
                    )
                aux = chunk.get("aux") or {}
                if aux.get("Digest"):
                    digest = aux["Digest"]
                status = chunk.get("status")
                if status and not chunk.get("progressDetail"):
                    on_log(f"{chunk.get('id', '')}: {status}".lstrip(": "))
                if status and status.startswith("Retrying") and time.monotonic() - said_retry >= WAIT_LINE_SECONDS:
                    # the registry failed and the engine tries again: say so, once in a while (it counts down per layer)
                    said_retry = time.monotonic()
                    on_wait(f"The registry failed during the push of {repository}:{tag}; the engine is {status[0].lower()}{status[1:]}")
        except docker.errors.APIError as exc:
            _raise_if_rate_limited(str(exc.explanation or exc))
            raise PushFailedError(f"Pushing {repository}:{tag} failed: {exc.explanation or exc}.") from None
        except requests.exceptions.RequestException as exc:
            raise DockerUnreachableError(f"Lost the Docker engine during the push ({short_reason(exc)}).") from None
        if not digest:
            raise PushFailedError(f"Pushing {repository}:{tag} ended without a digest from the registry; retry the push.")
        return digest

    def pull(self, repository: str, tag: str, *, credentials: tuple[str, str] | None = None) -> str:
        """Pull ``repository:tag``; return the image's repository digest. Failures are raised as
        :class:`PullFailedError` with the registry's own words (callers refine them)."""
        import docker.errors
        import requests.exceptions

        try:
            stream: Iterable[dict[str, Any]] = self.api.pull(
                repository, tag=tag, stream=True, decode=True, auth_config=_auth_config(credentials)
            )
            for chunk in stream:
                if "error" in chunk:
                    _raise_if_rate_limited(chunk["error"])
                    raise PullFailedError(chunk["error"].strip())
            attrs = self._client.images.get(f"{repository}:{tag}").attrs
        except docker.errors.APIError as exc:
            _raise_if_rate_limited(str(exc.explanation or exc))
            raise PullFailedError(str(exc.explanation or exc)) from None
        except requests.exceptions.RequestException as exc:
            raise DockerUnreachableError(f"Lost the Docker engine during the pull ({short_reason(exc)}).") from None
        digests = [d for d in attrs.get("RepoDigests", []) if d.startswith(f"{repository}@")]
        return digests[0].partition("@")[2] if digests else ""


def _raise_if_rate_limited(text: str) -> None:
    """The engine words a registry's 429 as ``...: toomanyrequests: SENTENCE``: the hub's sentence says when to retry."""
    _, found, sentence = text.partition("toomanyrequests: ")
    if found:
        raise RateLimitedError(sentence.strip()[:300] or "The registry refused: too many requests; try again later.")


def _auth_config(credentials: tuple[str, str] | None) -> dict[str, str] | None:
    return {"username": credentials[0], "password": credentials[1]} if credentials else None


def normalize_platform(platform: str) -> str:
    """``linux/arm64/v8`` and ``linux/arm64`` are the same platform; so are ``x86_64`` and ``amd64``."""
    parts = platform.lower().split("/")
    aliases = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64"}
    if len(parts) > 1:
        parts[1] = aliases.get(parts[1], parts[1])
    if parts[1:] and parts[1] == "arm64" and parts[2:] == ["v8"]:
        parts = parts[:2]
    return "/".join(parts)


def _build_failed(message: str, step: str, tail: deque[str]) -> BuildFailedError:
    where = f" at {step!r}" if step else ""
    return BuildFailedError(
        f"The image build failed{where}: {message.strip().splitlines()[-1] if message.strip() else 'unknown error'}",
        detail="\n".join(tail),
    )


def short_reason(exc: BaseException) -> str:
    """The last line of an exception's text (where docker-py and requests say what went wrong), at most 200 characters."""
    text = str(exc).strip().splitlines()
    return text[-1][:200] if text else exc.__class__.__name__
