"""The Jina Hub API (``/jina/v2/rpc/...``): what Jina's own client asks a hub.

``jina hub push`` uploads a zip that the hub builds with the push flow (:mod:`..builds`) and
answers as an NDJSON stream; ``executor.getPackage`` resolves ``jinahub+docker://`` to an image
on this hub pinned by digest, and ``jinahub://`` to a signed, short-lived download URL of the
zip it was pushed with. Shapes: :mod:`..jina_wire`; behaviour: ``docs/jina.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from ...core.metadata import ExecutorMetadata, Visibility
from ...core.names import metadata_repository, repository_for, validate_name
from ...core.policy import may_pull
from ...errors import (
    BuildsDisabledError,
    DockerUnreachableError,
    ExecutorNotFoundError,
    HubpushError,
    MalformedMessageError,
    NameTakenError,
    PublisherTokenError,
    SecretRequiredError,
    WrongSecretError,
)
from ...oci.source_store import SourceRecord, SourceStore
from ...publish.plan import PushResult
from .. import jina_wire as wire
from ..builds import BuildEvents, BuildTask, Upload, build_upload, engine_available, own_address, refusal_for_engine
from ..forwarding import Upstream
from ..hub import Hub, hub_of
from ..refusal import Refusal
from .hub_api import json_body

log = logging.getLogger("hubpush.gateway.jina")

#: how long a source download URL stays valid (the client fetches it right after getPackage)
SOURCE_URL_SECONDS = 600
SOURCE_PURPOSE = "jina-source"
_FILE_CHUNK = 1 << 20
#: the longest an upload (at most 100 MiB) may take to arrive: about 170 KiB/s at the least
UPLOAD_SECONDS = 600
#: what a hub with a publisher token says to Jina's client without it (whoami, and a first publish)
PUBLISHER_ONLY = "This hub publishes only for holders of its publisher token: set JINA_AUTH_TOKEN to it."


# --- login ------------------------------------------------------------------------------
async def whoami(request: web.Request) -> web.Response:
    """An open hub answers for anyone; a hub with a publisher token only for that token."""
    hub = hub_of(request)
    if hub.settings.publisher_token is None:
        return web.json_response({"data": {"name": "anonymous", "nickname": "anonymous (this hub is open)"}})
    if _holds_publisher_token(hub, request):
        return web.json_response({"data": {"name": "publisher", "nickname": "holder of this hub's publisher token"}})
    return web.json_response(wire.whoami_error(PUBLISHER_ONLY), status=401)


async def list_registries(request: web.Request) -> web.Response:
    """The registries ``jina auth login`` configures Jina's docker credential helper for: this hub."""
    return web.json_response({"data": [hub_of(request).address(request)]})


def _holds_publisher_token(hub: Hub, request: web.Request) -> bool:
    """Jina's client sends its auth token as ``Authorization: token T``."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # ASCII only, as Jina's tokens are: str.strip() would otherwise also drop Unicode spaces around the token
    return scheme.lower() == "token" and given.isascii() and hub.is_publisher_token(given.strip())


# --- jina hub push ----------------------------------------------------------------------
async def push(request: web.Request) -> web.StreamResponse:
    return await _push(request, is_update=False)


async def update(request: web.Request) -> web.StreamResponse:
    return await _push(request, is_update=True)


async def _push(request: web.Request, *, is_update: bool) -> web.StreamResponse:
    """Refusals come back as JSON before any build; an allowed push streams its build as NDJSON.

    Once its worker starts, the build owns its slot and its upload: both are given back when the
    build ends, not when the client leaves, so clients that go away cannot pile up builds."""
    hub = hub_of(request)
    await _check_builds(hub)
    publisher = hub.settings.publisher_token if _holds_publisher_token(hub, request) else None
    if not is_update and hub.settings.publisher_token is not None and publisher is None:
        # before the upload is read: on such a hub, anyone could otherwise make it store and unpack zips
        raise PublisherTokenError(PUBLISHER_ONLY)
    scratch = Path(tempfile.mkdtemp(prefix="hubpush-upload-"))
    worker: asyncio.Future[None] | None = None
    try:
        with hub.builds.receiving():
            upload = await _receive_within(hub, request, scratch / "upload.zip", is_update=is_update)
        if upload.is_update:
            await _check_secret(hub, request, upload.form)
        await hub.builds.acquire()
        loop = asyncio.get_running_loop()
        task = hub.tasks.start(upload.form.name)
        events = BuildEvents(loop, hub.settings.builds.seconds)
        worker = loop.run_in_executor(None, _run, hub, upload, events, publisher)
        worker.add_done_callback(lambda _: _finished(hub, scratch))
        return await _answer(request, upload, events, task, worker)
    finally:
        if worker is None:
            shutil.rmtree(scratch, ignore_errors=True)


async def _check_secret(hub: Hub, request: web.Request, form: wire.PushForm) -> None:
    """An update's secret, checked here against the caller's own address and limits: the build's
    flow checks it again through the gateway's hub API from the gateway's own address, where a
    flood of wrong secrets must not count (it would lock out every hub build). Verified, the
    pair is cached, so the flow's check costs nothing."""
    validate_name(form.name)
    repository = repository_for(form.name)
    metadata = await hub.directory.read(repository)
    assert form.secret is not None  # an update form without one was refused when it was read
    with hub.directory.checking(repository, form.secret, hub.client(request)) as check:
        if await check.verify(metadata):
            return
    # one sentence for "wrong secret" and "no such executor": a private NAME does not leak
    raise WrongSecretError(f"The secret given for executor {form.name!r} is wrong, or no such executor exists here; nothing was changed.")


def _finished(hub: Hub, scratch: Path) -> None:
    hub.builds.release()
    shutil.rmtree(scratch, ignore_errors=True)


def _run(hub: Hub, upload: Upload, events: BuildEvents, publisher: str | None) -> None:
    """The worker thread: the whole push flow; its end is an event, never an exception."""
    address = own_address(hub.settings.host, hub.settings.port)
    try:
        result = build_upload(upload, events, hub_address=address, upstream=hub.settings.upstream, publisher_token=publisher)
    except HubpushError as exc:
        exc.message = events.clean(exc.message)
        events.finished(None, _for_jina(exc, upload))
    except Exception as exc:  # a bug must still end the client's stream with a sentence
        log.exception("a hub build failed unexpectedly")
        events.finished(None, HubpushError(f"The hub's build failed unexpectedly ({exc.__class__.__name__}); tell the hub's operator."))
    else:
        events.finished(result, None)


async def _check_builds(hub: Hub) -> None:
    if not hub.settings.builds.enabled:
        raise BuildsDisabledError("This hub does not build executors (HUBPUSH_GATEWAY_BUILDS=off); push with 'hubpush push' instead.")
    try:
        await asyncio.to_thread(engine_available)
    except DockerUnreachableError as exc:
        raise refusal_for_engine(exc) from None


async def _receive_within(hub: Hub, request: web.Request, target: Path, *, is_update: bool) -> Upload:
    """:func:`_receive` with a deadline for the whole upload: a byte now and then keeps no connection for ever."""
    try:
        return await asyncio.wait_for(_receive(hub, request, target, is_update=is_update), UPLOAD_SECONDS)
    except asyncio.TimeoutError:
        raise Refusal(408, "UNSUPPORTED", f"The upload took longer than {UPLOAD_SECONDS} s and was dropped; push again.") from None


async def _receive(hub: Hub, request: web.Request, target: Path, *, is_update: bool) -> Upload:
    """The form's fields and its zip, streamed to ``target`` with a bound, MD5 and SHA-256 taken on the way."""
    if not request.content_type.startswith("multipart/form-data"):
        raise MalformedMessageError("jina hub push sends a multipart form; this request is not one.")
    limit = hub.settings.builds.max_upload
    fields: dict[str, str] = {}
    md5, sha256, size, seen_file = hashlib.md5(usedforsecurity=False), hashlib.sha256(), 0, False
    try:
        reader = await request.multipart()
    except ValueError as exc:  # no boundary in the Content-Type: was a 500 and a traceback
        raise MalformedMessageError(f"The push form is not a well-formed multipart body ({exc}).") from None
    while (part := await _next_part(reader, hub)) is not None:
        if not isinstance(part, BodyPartReader) or not part.name:
            raise MalformedMessageError("The push form has a part without a name.")
        if part.name == "file":
            if seen_file:
                raise MalformedMessageError("The push form carries more than one file.")
            seen_file = True
            with target.open("wb") as sink:
                while chunk := await _chunk(part, _FILE_CHUNK, hub):
                    size += len(chunk)
                    if size > limit:
                        raise Refusal(413, "SIZE_INVALID", f"The uploaded zip is over {limit} bytes, the most this hub takes.")
                    md5.update(chunk)
                    sha256.update(chunk)
                    sink.write(chunk)
        elif part.name in fields or len(fields) >= len(wire.PUSH_FIELDS):
            raise MalformedMessageError(f"The push form repeats the field {part.name!r}.")
        else:
            fields[part.name] = await _text_field(part, hub)
    if not seen_file:
        raise MalformedMessageError("The push form carries no zip (field 'file').")
    form = wire.PushForm.from_fields(fields, is_update=is_update)
    if md5.hexdigest() != form.md5sum:
        raise MalformedMessageError("The uploaded zip does not match its md5sum: it was damaged on the way; push again.")
    return Upload(form, is_update, target, "sha256:" + sha256.hexdigest(), md5.hexdigest())


async def _next_part(reader: Any, hub: Hub) -> Any:
    try:
        return await asyncio.wait_for(reader.next(), hub.settings.idle_seconds)
    except asyncio.TimeoutError:
        raise _stalled(hub) from None
    except ValueError as exc:  # aiohttp's multipart parser on a malformed body
        raise MalformedMessageError(f"The push form is not a well-formed multipart body ({exc}).") from None


async def _chunk(part: BodyPartReader, size: int, hub: Hub) -> bytes:
    """The next bytes of a part; a client that stalls inside a part is refused like one that stalls between parts
    (an uncaught timeout here was an empty 504 with a traceback in the hub's log)."""
    try:
        return await asyncio.wait_for(part.read_chunk(size), hub.settings.idle_seconds)
    except asyncio.TimeoutError:
        raise _stalled(hub) from None


def _stalled(hub: Hub) -> Refusal:
    return Refusal(408, "UNSUPPORTED", f"The upload stalled for {hub.settings.idle_seconds:g} s and was dropped.")


async def _text_field(part: BodyPartReader, hub: Hub) -> str:
    data = bytearray()
    while chunk := await _chunk(part, 4096, hub):
        data += chunk
        if len(data) > wire.MAX_FIELD_BYTES:
            raise MalformedMessageError(f"The push form's field {part.name!r} is over {wire.MAX_FIELD_BYTES} bytes.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMessageError(f"The push form's field {part.name!r} is not UTF-8 text.") from None


async def _answer(request: web.Request, upload: Upload, events: BuildEvents, task: BuildTask, worker: Any) -> web.StreamResponse:
    """Wait until the rules decided: a refusal is a JSON error, an allowed push a stream of its build."""
    early: list[tuple[str, Any]] = []
    while True:
        kind, value = await events.next()
        if kind == "failed":
            task.status, task.error = "failed", events.recordable(value.message)
            await worker
            raise value  # answered by the middleware in the client's error shape
        if kind == "allowed":
            break
        early.append((kind, value))
    response = await _Ndjson.open(request)
    for kind, value in early:
        await _send(response, task, kind, value)
    while True:
        kind, value = await events.next()
        if kind in ("done", "failed"):
            break
        await _send(response, task, kind, value)
    await worker
    if kind == "failed":
        task.status, task.error = "failed", events.recordable(value.message)
        await response.write(wire.error_line(value))
    else:
        await _complete(response, task, value, events)
    return await response.end()


async def _complete(response: _Ndjson, task: BuildTask, result: PushResult, events: BuildEvents) -> None:
    if events.dropped:
        result.warnings.append(f"{events.dropped} build log lines were not sent: the client read them too slowly.")
    for warning in result.warnings:
        await response.write(wire.warning_line(warning))
    payload = wire.executor_payload(
        name=result.name, visibility=result.visibility, tags=result.tags, digest=result.digest, secret=result.secret
    )
    # listed under the NAME that was pushed, never the form's 'id', which anyone may set to another executor's NAME
    task.name, task.status, task.public = result.name, "succeeded", result.visibility is Visibility.PUBLIC
    task.result = {key: value for key, value in payload.items() if key != "secret"}
    await response.write(wire.complete_line(payload))


async def _send(response: _Ndjson, task: BuildTask, kind: str, text: str) -> None:
    task.add(text)
    await response.write(wire.progress_line(text) if kind == "step" else wire.console_line(text))


class _Ndjson:
    """An NDJSON answer whose client may stop reading: a line it has not taken within the idle limit drops
    the connection, so a client that never reads cannot hold a build slot forever (the handler waited on
    the full socket buffer, with the slot, for as long as the client kept the connection open)."""

    def __init__(self, request: web.Request, response: web.StreamResponse) -> None:
        self.request, self.response = request, response
        self.idle = hub_of(request).settings.idle_seconds
        self.gone = False

    @classmethod
    async def open(cls, request: web.Request) -> _Ndjson:
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson", "Cache-Control": "no-store"})
        await response.prepare(request)
        return cls(request, response)

    async def write(self, line: dict[str, Any]) -> None:
        """A client that went away does not stop the build: its result is recorded all the same."""
        if self.gone:
            return
        try:
            await asyncio.wait_for(self.response.write(wire.ndjson(line)), self.idle)
        except asyncio.TimeoutError:
            self._drop()
        except (ConnectionResetError, RuntimeError):
            self.gone = True

    async def end(self) -> web.StreamResponse:
        if not self.gone:
            with contextlib.suppress(ConnectionResetError, RuntimeError, asyncio.TimeoutError):
                await asyncio.wait_for(self.response.write_eof(), self.idle)
        return self.response

    def _drop(self) -> None:
        self.gone = True
        if self.request.transport is not None:
            self.request.transport.abort()


def _for_jina(exc: HubpushError, upload: Upload) -> HubpushError:
    """The rules' sentences name hubpush's commands; the pusher here typed Jina's."""
    if isinstance(exc, NameTakenError) and not upload.is_update and "already exists" in exc.message:
        name = upload.form.name
        exc.message = (
            f"The executor {name!r} already exists on this hub. To update it, push with its secret: "
            f"jina hub push --force-update {name} --secret SECRET PATH"
        )
    for hubpush_words, jina_words in (("hubpush push --force-update", "jina hub push --force-update"), ("'hubpush push PATH'", "'jina hub push PATH'")):
        exc.message = exc.message.replace(hubpush_words, jina_words)
    return exc


# --- executor.getPackage ----------------------------------------------------------------
async def get_package(request: web.Request) -> web.Response:
    """``jinahub+docker://NAME[:SECRET][/TAG]`` -> the image pinned by digest; ``jinahub://`` -> its zip."""
    hub = hub_of(request)
    query = wire.PackageQuery.from_json(await json_body(request))
    validate_name(query.name)
    repository = repository_for(query.name)
    metadata = await _visible(hub, request, repository, query)
    tag = query.tag or _default_tag(metadata)
    digest = await _digest_of(hub, repository, metadata, tag, query)
    source = await asyncio.to_thread(_find_source, hub, repository, digest)
    if not query.wants_image and source is None:
        raise ExecutorNotFoundError(
            f"{query.name}:{tag} was pushed with 'hubpush push', which keeps no source zip; use jinahub+docker://{query.name}/{tag}."
        )
    data = wire.executor_payload(name=metadata.name, visibility=metadata.visibility, tags=[tag], digest=digest, secret=None)
    data["package"] = {
        "containers": [f"{hub.address(request)}/{repository}@{digest}"],
        "download": _source_url(hub, request, repository, digest) if source else None,
        "md5": source.md5 if source else None,
    }
    return web.json_response({"data": data}, headers={"Cache-Control": "no-store"})


async def _visible(hub: Hub, request: web.Request, repository: str, query: wire.PackageQuery) -> ExecutorMetadata:
    """The executor's metadata when the caller may use it; one answer for "absent" and "private"."""
    metadata = await hub.directory.read(repository)
    proven = False
    if query.secret and (metadata is None or metadata.visibility is Visibility.PRIVATE):
        # limited like every secret check; an absent NAME costs a decoy check, so timing tells nothing
        with hub.directory.checking(repository, query.secret, hub.client(request)) as check:
            proven = await check.verify(metadata)
    if metadata is None or not may_pull(metadata, proven=proven):
        raise SecretRequiredError(
            f"No executor {query.name!r} is visible at {hub.address(request)}: it does not exist, or it is private "
            f"and needs its secret (jinahub+docker://{query.name}:SECRET/TAG)."
        )
    return metadata


def _default_tag(metadata: ExecutorMetadata) -> str:
    """``latest`` when the executor has it, else its most recently pushed tag (as Jina Hub resolved a bare NAME)."""
    if "latest" in metadata.tags or not metadata.tags:
        return "latest"
    return max(metadata.tags.items(), key=lambda item: item[1].pushed_at)[0]


async def _digest_of(hub: Hub, repository: str, metadata: ExecutorMetadata, tag: str, query: wire.PackageQuery) -> str:
    """Where ``tag`` points in the registry now: the image the client runs cannot change under it."""
    client, name = hub.directory.at(repository)
    manifest = await asyncio.to_thread(client.get_manifest, name, tag) if tag in metadata.tags else None
    if manifest is None:
        known = ", ".join(sorted(metadata.tags)) or "none"
        raise ExecutorNotFoundError(f"Executor {query.name!r} has no tag {tag!r} on this hub (its tags: {known}).")
    return manifest.digest


def _find_source(hub: Hub, repository: str, digest: str) -> SourceRecord | None:
    client, name = hub.directory.at(repository)
    return SourceStore(client).find(name, digest)


def _source_url(hub: Hub, request: web.Request, repository: str, digest: str) -> str:
    """A URL the client fetches without credentials, so it carries its own short-lived signature."""
    token = hub.signer.seal(SOURCE_PURPOSE, {"repository": repository, "digest": digest}, SOURCE_URL_SECONDS)
    return f"{hub.public_base(request)}{wire.SOURCE}/{repository}?token={token}"


async def source(request: web.Request) -> web.StreamResponse:
    """The zip behind a URL that :func:`get_package` signed; anything else is a 404."""
    hub = hub_of(request)
    repository = request.match_info["repository"]
    sealed = hub.signer.unseal(SOURCE_PURPOSE, request.query.get("token", ""))
    if sealed is None or sealed.get("repository") != repository or not isinstance(sealed.get("digest"), str):
        raise Refusal(404, "NAME_UNKNOWN", "This download link is wrong or has expired; ask for the executor again.")
    record = await asyncio.to_thread(_find_source, hub, repository, str(sealed["digest"]))
    if record is None:
        raise Refusal(404, "NAME_UNKNOWN", "This executor's source zip is no longer on the hub.")
    client, name = hub.directory.at(repository)
    meta_path = client.qualified(metadata_repository(name))
    headers: tuple[tuple[str, str], ...] = ()
    wanted = request.headers.get("Range", "")
    if wanted and wire.is_simple_range(wanted):
        headers = (("Range", wanted),)
    upstream = Upstream(request.method, f"/v2/{meta_path}/blobs/{record.digest}", (), headers, has_body=False)
    return await hub.registry.forward(request, upstream, hub.public_base(request))


# --- jina hub status ----------------------------------------------------------------------
async def list_tasks(request: web.Request) -> web.Response:
    """The newest build of a public executor, by name (``jina hub status PATH``)."""
    hub = hub_of(request)
    form = await request.post()
    name = form.get("id")
    if not isinstance(name, str) or not name:
        raise MalformedMessageError("executor.listAsyncTasks needs the executor's name in 'id'.")
    tasks = hub.tasks.public_of(name)[:1]
    return web.json_response({"data": [{"_id": task.id, "status": task.status} for task in tasks]})


async def query_progress(request: web.Request) -> web.StreamResponse:
    """A build's lines and how it ended, as ``jina hub status --id TASK [--replay]`` reads them."""
    hub = hub_of(request)
    form = await request.post()
    task_id = form.get("id")
    task = hub.tasks.get(task_id) if isinstance(task_id, str) else None
    if task is None:
        raise Refusal(404, "NAME_UNKNOWN", "No build with this id is known to this hub (a restarted hub forgets its builds).")
    response = await _Ndjson.open(request)
    for line in task.lines:
        await response.write({"type": "progress", "data": {"data": wire.console_line(line)}})
    report: dict[str, Any] = {"type": "report", "status": task.status, "task": {"_id": task.id}}
    if task.result is not None:
        report["result"] = task.result
    if task.error:
        report["error"] = {"message": task.error}
    await response.write(report)
    return await response.end()
