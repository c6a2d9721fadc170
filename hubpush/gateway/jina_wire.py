"""The part of the Jina Hub ("Hubble") API that Jina's own client speaks, as pure data.

``jina hub push`` and ``jinahub[+docker]://`` Flows talk to ``$JINA_HUBBLE_REGISTRY/v2/rpc/...``;
the hub serves that under :data:`PREFIX` (``JINA_HUBBLE_REGISTRY=http://HUB/jina``). This module
reads what the client sends (multipart push forms, getPackage JSON) into strict dataclasses and
builds what it needs back (NDJSON lines, JSON answers). The shapes follow jina 3.34's client
(jina-hubble-sdk 0.39, ``hubble/executor/hubio.py``); ``docs/jina.md`` lists them. No I/O here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..core.metadata import Visibility
from ..errors import HubpushError, MalformedMessageError
from ..hubapi import JINA_PREFIX

PREFIX = JINA_PREFIX
RPC = f"{PREFIX}/v2/rpc"
WHOAMI = f"{RPC}/user.identity.whoami"
PUSH = f"{RPC}/executor.push"
UPDATE = f"{RPC}/executor.update"
GET_PACKAGE = f"{RPC}/executor.getPackage"
LIST_TASKS = f"{RPC}/executor.listAsyncTasks"
QUERY_PROGRESS = f"{RPC}/executor.queryProgress"
LIST_REGISTRIES = f"{RPC}/dockerRegistry.listInternalRegistries"
#: where the zip an executor was pushed with is downloaded (a signed, short-lived URL)
SOURCE = f"{PREFIX}/source"

#: ``status`` Jina's client maps to "authentication required" (hubble/excepts.py)
AUTH_REQUIRED_STATUS = 40103
#: the multipart text fields a push form may carry, and the most bytes any one of them may hold
PUSH_FIELDS = frozenset(
    {"public", "private", "md5sum", "verbose", "buildWithNoCache", "tags", "immutableTags", "dockerfile", "buildEnv", "platform", "id", "secret"}
)
MAX_FIELD_BYTES = 16 << 10
_BOOLEAN = {"True": True, "False": False, "true": True, "false": False}
_MD5 = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class PushForm:
    """A ``jina hub push`` form, read strictly: every field has the type the client sends."""

    #: ``metas.name`` for executor.push, ``--force-update NAME`` for executor.update
    name: str
    md5sum: str
    #: None: neither ``--public`` nor ``--private`` (keep what the executor has; public when new)
    visibility: Visibility | None = None
    secret: str | None = None
    tags: list[str] = field(default_factory=list)
    protected_tags: list[str] = field(default_factory=list)
    dockerfile: str | None = None
    #: ``KEY=VALUE`` strings, as ``hubpush push --build-env`` takes them
    build_env: list[str] = field(default_factory=list)
    platform: str | None = None
    no_cache: bool = False
    verbose: bool = False

    @classmethod
    def from_fields(cls, fields: dict[str, str], *, is_update: bool) -> PushForm:
        """The form from its text fields; a field of the wrong shape is refused by name."""
        unknown = sorted(set(fields) - PUSH_FIELDS)
        if unknown:
            raise MalformedMessageError(f"The push form has a field this hub does not know: {unknown[0]!r}.")
        public, private = _flag(fields, "public"), _flag(fields, "private")
        if public and private:
            raise MalformedMessageError("The push asks for both --public and --private; choose one.")
        name = fields.get("id", "").strip()
        if not name:
            raise MalformedMessageError("The push form names no executor (field 'id'); add metas.name to config.yml.")
        secret = fields.get("secret") or None
        if is_update and not secret:
            raise MalformedMessageError("executor.update needs the executor's secret (field 'secret'): add --secret SECRET.")
        md5sum = fields.get("md5sum", "")
        if not _MD5.match(md5sum):
            raise MalformedMessageError("The push form's 'md5sum' is not the hex MD5 of the uploaded zip.")
        return cls(
            name=name,
            md5sum=md5sum,
            visibility=Visibility.PUBLIC if public else Visibility.PRIVATE if private else None,
            secret=secret if is_update else None,
            tags=_list(fields, "tags"),
            protected_tags=_list(fields, "immutableTags"),
            dockerfile=fields.get("dockerfile") or None,
            build_env=_build_env(fields.get("buildEnv")),
            platform=fields.get("platform") or None,
            no_cache=_flag(fields, "buildWithNoCache"),
            verbose=_flag(fields, "verbose"),
        )


def _flag(fields: dict[str, str], key: str) -> bool:
    value = fields.get(key, "False")
    if value not in _BOOLEAN:
        raise MalformedMessageError(f"The push form's {key!r} must be 'True' or 'False', not {value[:40]!r}.")
    return _BOOLEAN[value]


def _list(fields: dict[str, str], key: str) -> list[str]:
    """``'t1,t2'`` as the client joins ``-t`` values; blanks dropped."""
    return [item.strip() for item in fields.get(key, "").split(",") if item.strip()]


def _build_env(text: str | None) -> list[str]:
    """``buildEnv`` is a JSON object of strings; returned as ``KEY=VALUE`` for the CLI's own parser."""
    if not text:
        return []
    try:
        data = json.loads(text)
    except ValueError:
        raise MalformedMessageError("The push form's 'buildEnv' is not JSON; send --build-env KEY=VALUE.") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise MalformedMessageError("The push form's 'buildEnv' must be a JSON object of strings.")
    return [f"{key}={value}" for key, value in data.items()]


@dataclass(frozen=True)
class PackageQuery:
    """An ``executor.getPackage`` body: which executor, tag and form (image or source)."""

    name: str
    tag: str | None = None
    secret: str | None = None
    #: the client asks for ``docker`` when it wants an image (``jinahub+docker://``)
    wants_image: bool = False

    @classmethod
    def from_json(cls, data: object) -> PackageQuery:
        if not isinstance(data, dict):
            raise MalformedMessageError("executor.getPackage takes a JSON object.")
        name, tag, secret, include = data.get("id"), data.get("tag"), data.get("secret"), data.get("include", [])
        if not isinstance(name, str) or not name:
            raise MalformedMessageError("executor.getPackage needs the executor's name in 'id'.")
        for key, value in (("tag", tag), ("secret", secret)):
            if value is not None and not isinstance(value, str):
                raise MalformedMessageError(f"executor.getPackage's {key!r} must be a string.")
        if not isinstance(include, list) or not all(isinstance(item, str) for item in include):
            raise MalformedMessageError("executor.getPackage's 'include' must be a list of strings.")
        return cls(name=name, tag=tag or None, secret=secret or None, wants_image="docker" in include)


# --- answers --------------------------------------------------------------------------
def error_body(error: HubpushError) -> dict[str, Any]:
    """A JSON error the client shows (``readableMessage``), with hubpush's kind and exit code for scripts."""
    return refusal_body(_with_detail(error), {"kind": error.kind, "exit_code": error.exit_code})


def refusal_body(message: str, detail: dict[str, Any]) -> dict[str, Any]:
    """Any refusal under the Jina prefix. No ``status``: the SDK looks that up in its own table."""
    return {"message": message, "readableMessage": message, "data": {}, **{k: v for k, v in detail.items() if k in ("kind", "exit_code")}}


def whoami_error(message: str) -> dict[str, Any]:
    """What the SDK's whoami needs to say "log in" (a status it knows)."""
    return {"status": AUTH_REQUIRED_STATUS, "message": message, "readableMessage": message, "data": {}}


def progress_line(status: str) -> dict[str, Any]:
    """A step of the push (shown as ``Cloud building ... buildWorkspace: progress (STATUS)``)."""
    return {"type": "progress", "subject": "buildWorkspace", "legacyMessage": {"status": status}, "payload": status}


def console_line(text: str) -> dict[str, Any]:
    """A line of the engine's build output (shown in full with ``--verbose``)."""
    return {"type": "console", "subject": "buildImage", "payload": text}


def warning_line(text: str) -> dict[str, Any]:
    return {"type": "warning", "message": text}


def error_line(error: HubpushError) -> dict[str, Any]:
    """Ends the stream with a failure; the client raises with ``readableMessage``."""
    return {"type": "error", "message": error.message, "payload": error_body(error)}


def complete_line(executor: dict[str, Any]) -> dict[str, Any]:
    return {"type": "complete", "message": "Successfully pushed", "payload": executor}


def executor_payload(*, name: str, visibility: Visibility, tags: list[str], digest: str, secret: str | None) -> dict[str, Any]:
    """The executor as the client prints it after a push (and as getPackage starts it).

    No ``owner``: the client then prints ``jinahub+docker://NAME[:SECRET]/TAG`` usage lines,
    which is what this hub resolves."""
    payload: dict[str, Any] = {
        "id": name,
        "name": name,
        "visibility": visibility.value,
        "commit": {"id": commit_id(digest), "tags": list(tags)},
    }
    if secret:
        payload["secret"] = secret
    return payload


def commit_id(digest: str) -> str:
    """The image digest's hex: what the client keys its unpacked-source cache on (``PKG-COMMIT-ID``)."""
    return digest.partition(":")[2] or digest


_SIMPLE_RANGE = re.compile(r"^bytes=[0-9]{1,18}-[0-9]{0,18}$")


def is_simple_range(value: str) -> bool:
    """``bytes=N-`` or ``bytes=N-M``: the one form the client sends when it resumes a download."""
    return bool(_SIMPLE_RANGE.match(value))


def ndjson(line: dict[str, Any]) -> bytes:
    """One stream line; never a blank one (the client parses every line as JSON)."""
    return json.dumps(line, separators=(",", ":")).encode("utf-8") + b"\n"


def _with_detail(error: HubpushError) -> str:
    return f"{error.message}\n{error.detail}" if error.detail else error.message
