"""Builds on the hub's side: a folder uploaded by ``jina hub push``, built and pushed by the hub.

This is the push flow's third front door. The hub unpacks the upload into a directory of its
own, then runs :func:`hubpush.publish.service.push_executor` -- the very flow, rules and
template ``hubpush push`` runs -- on the Docker engine next to it, pushing through its own
gateway address, so its hub API applies every rule under the executor's lock, exactly as for
a CLI push. The flow runs in a worker thread; what it reports travels to the client's NDJSON
stream through a :class:`BuildEvents` queue.

Limits: builds run at most :attr:`BuildSettings.at_once` at a time, with at most
:attr:`BuildSettings.waiting` more queued (beyond that: :class:`~hubpush.errors.HubBusyError`),
and each stops at its next step or log line after :attr:`BuildSettings.seconds`. Every build
has its own directory and secret cache, removed when it ends: no build sees another's files.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import tempfile
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import PushSettings
from ..core.metadata import Visibility
from ..engine import DockerEngine, connect
from ..errors import BuildsDisabledError, BuildTimeoutError, DockerUnreachableError, HubBusyError, HubpushError
from ..executor.archive import extract_archive
from ..oci.client import RegistryClient
from ..oci.source_store import SourceStore
from ..publish.plan import PushResult
from ..publish.ports import Engine
from ..publish.service import push_executor
from ..secret_store import SecretStore
from .jina_wire import PushForm
from .settings import BuildSettings

#: log lines waiting for a slow client beyond this are dropped (steps never are)
MAX_QUEUED_LINES = 2000
#: lines a finished build keeps for ``jina hub status --replay``
MAX_TASK_LINES = 500


@dataclass(frozen=True)
class Upload:
    """A received ``jina hub push``: its form, and the zip on disk with the digests taken as it arrived."""

    form: PushForm
    is_update: bool
    archive: Path
    sha256: str
    md5: str


class BuildQueue:
    """At most ``at_once`` builds run; at most ``waiting`` more wait; the rest are refused at once.

    Uploads being received count too (at most ``waiting`` at a time), so many clients sending
    100 MiB zips at once can neither fill the hub's disk nor hold its connections."""

    def __init__(self, settings: BuildSettings) -> None:
        self.settings = settings
        self._slots = asyncio.Semaphore(settings.at_once)
        self._waiting = 0
        self._receiving = 0

    @contextlib.contextmanager
    def receiving(self) -> Iterator[None]:
        """Count one upload while it is read; refuse at once beyond the bound."""
        if self._receiving >= self.settings.waiting:
            raise HubBusyError(
                f"The hub is busy: {self._receiving} uploads are being received already; retry in a few minutes."
            )
        self._receiving += 1
        try:
            yield
        finally:
            self._receiving -= 1

    async def acquire(self) -> None:
        """Wait for a build slot; refuse at once when the queue is full. The slot is held until
        :meth:`release`, which the build's own end calls: a client that goes away frees nothing."""
        if self._waiting >= self.settings.waiting:
            raise HubBusyError(
                f"The hub is busy: {self.settings.at_once} build(s) running and {self._waiting} waiting; retry in a few minutes."
            )
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1

    def release(self) -> None:
        self._slots.release()


@dataclass
class BuildTask:
    """One build, as ``jina hub status`` asks about it: its lines (the last few hundred) and how it ended."""

    id: str
    name: str
    status: str = "pending"
    lines: list[str] = field(default_factory=list)
    #: the executor as the push's ``complete`` line gave it, without its secret
    result: dict[str, Any] | None = None
    error: str = ""
    public: bool = False

    def add(self, line: str) -> None:
        self.lines.append(line)
        del self.lines[:-MAX_TASK_LINES]


class BuildTasks:
    """The hub's most recent builds, in memory (a restarted hub forgets them), oldest dropped first."""

    def __init__(self, size: int = 100) -> None:
        self._tasks: OrderedDict[str, BuildTask] = OrderedDict()
        self._size = size

    def start(self, name: str) -> BuildTask:
        task = BuildTask(id=secrets.token_hex(16), name=name)
        self._tasks[task.id] = task
        while len(self._tasks) > self._size:
            self._tasks.popitem(last=False)
        return task

    def get(self, task_id: str) -> BuildTask | None:
        return self._tasks.get(task_id)

    def public_of(self, name: str) -> list[BuildTask]:
        """The builds of executor ``name`` that ended public, newest first: the only ones listed by name,
        since a name's builds would otherwise tell that a private executor exists."""
        return [task for task in reversed(self._tasks.values()) if task.name == name and task.public]


class BuildEvents:
    """The flow's reporter, called from its worker thread; the handler reads :meth:`next` on the event loop.

    Events: ``("allowed", None)`` once the rules allowed the push (the engine is asked for then),
    ``("step", text)``, ``("log", text)``, ``("done", PushResult)``, ``("failed", HubpushError)``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._deadline = time.monotonic() + seconds
        self._seconds = seconds
        self.dropped = 0
        #: a new secret that a failure's sentence carries to the pusher: kept out of every record
        self.shown_secret: str | None = None
        #: the build's own directory, which no line or sentence names (it tells nothing but the hub's layout)
        self.workdir = ""

    def clean(self, text: str) -> str:
        """``text`` with the build's directory named as what it holds."""
        return text.replace(self.workdir, "(the upload)") if self.workdir else text

    def resume_hint(self, name: str, secret: str, cache: str) -> str:
        """The flow's sentence for a NAME left reserved: it carries the new secret to the pusher, once,
        and :meth:`recordable` keeps it out of the build's record."""
        self.shown_secret = secret
        return jina_resume_hint(name, secret, cache)

    def recordable(self, message: str) -> str:
        """A failure's sentence as the build's record keeps it: a new secret goes to the pusher only."""
        return message.replace(self.shown_secret, "SECRET") if self.shown_secret else message

    # --- the worker thread's side ---------------------------------------------------------
    def _put(self, kind: str, value: Any) -> None:
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (kind, value))

    def _check_time(self) -> None:
        if self.expired():
            raise self.timeout_error()

    def expired(self) -> bool:
        return time.monotonic() > self._deadline

    def remaining(self) -> float:
        """Seconds left: the engine's client waits at most this long for the next build output, so a build
        that prints nothing (``RUN sleep infinity``) is stopped too, not only one whose next line comes late."""
        return max(1.0, self._deadline - time.monotonic())

    def timeout_error(self) -> BuildTimeoutError:
        return BuildTimeoutError(
            f"The build ran longer than this hub allows ({self._seconds:g} s) and was stopped; nothing was pushed. "
            "Make the build faster, or ask the hub's operator to raise HUBPUSH_GATEWAY_BUILD_SECONDS."
        )

    def step(self, message: str) -> None:
        self._check_time()
        self._put("step", self.clean(message))

    def log(self, line: str) -> None:
        self._check_time()
        if self._queue.qsize() >= MAX_QUEUED_LINES:
            self.dropped += 1  # a client that reads slowly must not grow the hub's memory
            return
        self._put("log", self.clean(line))

    def allowed(self) -> None:
        self._put("allowed", None)

    def finished(self, result: PushResult | None, error: HubpushError | None) -> None:
        if error is None:
            self._put("done", result)
        else:
            self._put("failed", error)

    # --- the event loop's side -------------------------------------------------------------
    async def next(self) -> tuple[str, Any]:
        return await self._queue.get()


def engine_available() -> None:
    """Raise when no Docker engine answers next to the hub (checked before an upload is read)."""
    client = connect(timeout=5)
    client.close()


def build_upload(upload: Upload, events: BuildEvents, *, hub_address: str, upstream: str, publisher_token: str | None) -> PushResult:
    """Unpack, build and push ``upload`` through the hub at ``hub_address`` (runs in a worker thread).

    Returns the push's result; the zip is then kept beside the image, in the ``upstream``
    registry's metadata namespace (which the gateway serves to no client), for ``jinahub://`` use."""
    workdir = Path(tempfile.mkdtemp(prefix="hubpush-build-"))
    unpacked = workdir / "executor"
    events.workdir = str(unpacked)
    try:
        folder = extract_archive(upload.archive, unpacked)
        settings = _settings(upload, folder, hub_address)

        def allowed_engine() -> Engine:
            events.allowed()
            # closing the build's connection at the deadline makes the engine stop the build
            return DockerEngine(build_seconds=events.remaining())

        try:
            result = push_executor(
                settings,
                events,
                secret_store=SecretStore(workdir / "secrets"),
                engine=allowed_engine,
                publisher_token=publisher_token or "",  # never the env's HUBPUSH_PUBLISHER_TOKEN: see push_executor
                resume_hint=events.resume_hint,
            )
        except DockerUnreachableError:
            if events.expired():  # the engine's client gave up at the deadline: say why
                raise events.timeout_error() from None
            raise
        _keep_source(upload, result, upstream, events)
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _settings(upload: Upload, folder: Path, hub_address: str) -> PushSettings:
    """The upload's form as ``hubpush push`` flags, validated by the CLI's own rules."""
    form = upload.form
    return PushSettings.from_flags(
        path=folder,
        public=form.visibility is Visibility.PUBLIC,
        private=form.visibility is Visibility.PRIVATE,
        force_update=form.name if upload.is_update else None,
        secret=form.secret,
        tags=form.tags,
        protected_tags=form.protected_tags,
        dockerfile=form.dockerfile,
        build_env=form.build_env,
        platform=form.platform,
        no_cache=form.no_cache,
        registry=hub_address,
    )


def _keep_source(upload: Upload, result: PushResult, upstream: str, events: BuildEvents) -> None:
    """Store the zip beside the image; an executor without it still runs as ``jinahub+docker://``."""
    events.step("Keeping the source zip for jinahub:// use")
    try:
        registry, repository = RegistryClient(upstream, trust_env=False).at(result.repository)
        SourceStore(registry).write(repository, result.digest, upload.archive, sha256=upload.sha256, md5=upload.md5)
    except HubpushError as exc:
        result.warnings.append(f"The source zip was not kept ({exc.message}); jinahub:// use of this push will not work.")


def jina_resume_hint(name: str, secret: str, _cache: str) -> str:
    """A hub build keeps no secret cache: the pusher gets the secret in the sentence, once."""
    return f"its secret is {secret}; keep it, and finish with: jina hub push --force-update {name} --secret {secret} PATH"


def own_address(host: str, port: int) -> str:
    """How the hub's builds reach its own gateway: the engine pushes over plain HTTP only to loopback."""
    if host in ("", "0.0.0.0", "::", "127.0.0.1", "localhost", "::1"):
        return f"localhost:{port}"
    return f"{host}:{port}"


def refusal_for_engine(exc: DockerUnreachableError) -> BuildsDisabledError:
    """The sentence for an upload to a hub that has no engine to build it on."""
    return BuildsDisabledError(
        "This hub does not build executors: no Docker engine answers next to it "
        f"({exc.message.rstrip('.')}). Push with 'hubpush push' from a machine with Docker, or start the hub beside an engine."
    )

