"""Rendering results for people (rich) or machines (``--json``)."""

from __future__ import annotations

import json
import sys
import time

from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from ..config import DEFAULT_REGISTRY
from ..core.catalog import human_size, human_time
from ..core.names import jinahub_uri
from ..hubapi import JINA_PREFIX, portal_path

if TYPE_CHECKING:  # each command imports its own service, and only when it runs
    from rich.status import Status

    from ..access import AccessToken
    from ..consistency import CheckReport
    from ..listing import ExecutorList
    from ..publish import PushResult
    from ..pull import PullResult
    from ..show import ExecutorView


def emit_json(data: object) -> None:
    """Exactly one JSON object on stdout, unwrapped and uncoloured, for scripts."""
    sys.stdout.write(json.dumps(data, sort_keys=True) + "\n")
    sys.stdout.flush()


class CliReporter:
    """Progress on stderr: steps always, build/push log lines with ``--verbose``.

    Without ``--verbose`` a terminal shows the current log line in a transient status
    line instead, so a long build is visibly alive without flooding the screen.
    """

    def __init__(self, console: Console, *, verbose: bool, quiet: bool) -> None:
        self.console = console
        self.verbose = verbose
        self.quiet = quiet
        self._status: Status | None = None

    def step(self, message: str) -> None:
        if self.quiet:
            return
        self._stop_status()
        self.console.print(Text.assemble(("==> ", "bold cyan"), message), highlight=False)

    def log(self, line: str) -> None:
        if self.quiet:
            return
        if self.verbose:
            self.console.print(line, markup=False, highlight=False, style="dim")
        elif self.console.is_terminal:
            if self._status is None:
                self._status = self.console.status("")
                self._status.start()
            self._status.update(Text(line[:120], style="dim"))

    def __enter__(self) -> CliReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_status()  # the transient status line must be gone before results or errors print

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def render_push(result: PushResult, out: Console, err: Console, *, as_json: bool) -> None:
    """The result panel (stdout), then warnings (stderr). Every user-controlled string goes in
    as :class:`~rich.text.Text`, never as markup, so brackets in names or paths print as typed."""
    if as_json:
        emit_json(result.to_dict())
        return
    from rich.panel import Panel
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("NAME", Text(f"{result.name}   (repository {result.registry}/{result.repository})"))
    if result.secret:
        table.add_row("SECRET", Text(result.secret, style="bold magenta"))
        table.add_row("", Text(f"Keep it safe: it is the only way to update this executor. Cached for you in {result.secret_cache}.", style="yellow"))
    table.add_row("VISIBILITY", Text(result.visibility.value))
    table.add_row("DIGEST", Text(result.digest))
    table.add_row("TAGS", Text("\n".join(result.image_references)))
    if result.protected_tags:
        table.add_row("PROTECTED", Text(", ".join(result.protected_tags)))
    first = result.image_references[0]
    usage = Text.assemble(
        ("Use it:\n", "bold"),
        *_private_pull_lines(result),
        f"  docker pull {first}\n",
        f"  docker run --rm -p 8080:8080 {first} --port 8080\n",
        ("  Jina Flow: ", "bold"),
        f"uses: docker://{first}",
        *_jinahub_lines(result),
    )
    title = "Published" if result.first_publish else "Updated"
    out.print(Panel(table, title=Text(f"{title} {result.name}"), expand=False))
    out.print(usage)
    if result.portal_url:
        out.print(Text.assemble(("Portal: ", "bold"), result.portal_url), highlight=False)
    for warning in result.warnings:
        err.print(Text.assemble(("Warning: ", "yellow"), warning))


def _jinahub_lines(result: PushResult) -> list[str]:
    """Through a hub, at its top level, Jina's own names work too (the hub serves the Jina Hub API)."""
    if not result.portal_url or "/" in result.registry:
        return []
    uri = jinahub_uri(result.name, result.tags[0], private=result.visibility.value == "private")
    hub = result.portal_url.removesuffix(portal_path(result.repository))  # the executor's page is HUB + its path
    return [f"\n  Jina Hub:  uses: {uri}   (with JINA_HUBBLE_REGISTRY={hub}{JINA_PREFIX})"]


def _private_pull_lines(result: PushResult) -> list[str]:
    """A private executor behind a hub is pulled with its NAME and SECRET: say how, both ways."""
    if result.visibility.value != "private":
        return []
    where = "" if result.registry == DEFAULT_REGISTRY else f" --registry {result.registry}"
    tag = result.tags[0]
    return [
        f"  hubpush pull {result.name} -t {tag}{where}   (the secret is cached here; elsewhere add --secret SECRET)\n",
        f"  docker login {result.registry_host} -u {result.username}   (password: the SECRET), then:\n",
    ]


def render_show(view: ExecutorView, out: Console, *, as_json: bool) -> None:
    """``hubpush show``: the executor, its tags and digests, and tags the registry holds that hubpush did not push."""
    data = view.to_dict()
    if as_json:
        emit_json(data)
        return
    meta = view.metadata
    out.print(Text.assemble((meta.name, "bold"), f"  {data['repository']}  ({meta.visibility.value})"))
    if meta.description:
        out.print(Text(meta.description))
    if view.readme_summary:
        out.print(Text(view.readme_summary, style="italic"))
    if meta.keywords:
        out.print(Text.assemble(("Keywords: ", "bold"), ", ".join(meta.keywords)))
    if view.portal_url:
        out.print(Text.assemble(("Portal: ", "bold"), view.portal_url), highlight=False)
    from rich.table import Table

    table = Table("TAG", "DIGEST", "PUSHED AT", "PROTECTED")
    for tag, record in sorted(meta.tags.items()):
        table.add_row(Text(tag), Text(record.digest), Text(record.pushed_at), "yes" if tag in meta.protected_tags else "")
    out.print(table)
    untracked = sorted(set(view.registry_tags) - set(meta.tags))
    if untracked:
        out.print(Text.assemble(("Tags in the registry that hubpush did not push: ", "yellow"), ", ".join(untracked)))


#: tags a listing row names before "+N more"
LISTED_TAGS = 4


def render_list(listing: ExecutorList, out: Console, err: Console, *, as_json: bool) -> None:
    """``hubpush list``: one row per executor (stdout), then the page and the notes (stderr)."""
    if as_json:
        emit_json(listing.to_dict())
        return
    from rich.table import Table

    page = listing.page
    table = Table("NAME", "VISIBILITY", "LAST PUSH", "TAGS", "SIZE", "DESCRIPTION")
    marked = False
    for item in page.executors:
        names = [f"{tag['tag']}*" if tag.get("protected") else str(tag["tag"]) for tag in item.tags[:LISTED_TAGS]]
        marked = marked or any(name.endswith("*") for name in names)
        more = len(item.tags) - LISTED_TAGS
        tags = ", ".join(names) + (f" +{more} more" if more > 0 else "")
        table.add_row(
            Text(item.name), Text(item.visibility.value), Text(human_time(item.last_push)), Text(tags or "(none)"),
            Text(human_size(item.size)), Text(item.description),
        )  # fmt: skip
    where = "the hub" if listing.hub else "the registry"
    searched = f" matching {page.query!r}" if page.query else ""
    if not page.executors:
        out.print(Text(f"No executors{searched} at {listing.registry}."))
    else:
        out.print(table)
        summary = f"{page.total} executor{'s' if page.total != 1 else ''}{searched} at {where} {listing.registry}"
        summary += f", page {page.page} of {page.pages}" if page.pages > 1 else ""
        if page.page < page.pages:
            summary += f" (next: --page {page.page + 1})"
        out.print(Text(summary + "." + ("  * protected tag" if marked else "")), highlight=False)
    if listing.portal_url:
        out.print(Text.assemble(("Portal: ", "bold"), listing.portal_url), highlight=False)
    for note in listing.notes:
        err.print(Text.assemble(("Note: ", "yellow"), note), highlight=False)


def render_pull(result: PullResult, out: Console, *, as_json: bool) -> None:
    """``hubpush pull``: the image pulled and its digest."""
    if as_json:
        emit_json(result.to_dict())
        return
    out.print(Text.assemble(("Pulled ", "bold green"), result.image, "  ", (result.digest, "dim")), highlight=False)


def render_token(made: AccessToken, out: Console, *, as_json: bool) -> None:
    """``hubpush token``: the token (on stdout alone, for pipes) and how to give it to docker."""
    if as_json:
        emit_json(made.to_dict())
        return
    sys.stdout.write(made.answer.token + "\n")  # alone on stdout, unwrapped: `hubpush token ... | docker login ...`
    sys.stdout.flush()
    until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(made.answer.expires_at))
    err = Console(stderr=True, highlight=False)
    err.print(Text(f"Pulls {', '.join(made.answer.repositories)} until {until}. Give it to docker with:\n  hubpush token ... | {made.login_command}"))


def render_hub(status: dict[str, object], out: Console, *, as_json: bool, what: str) -> None:
    """``hub up`` / ``hub status``: where the hub is and how to use it."""
    address = str(status["address"])
    status = {**status, "portal_url": f"http://{address}/"}
    if as_json:
        emit_json(status)
        return
    out.print(Text.assemble((f"{what} ", "bold green"), address), highlight=False)
    out.print(
        Text(
            f"  gateway pid {status['gateway_pid']}, log {status['log_file']}\n"
            f"  registry container {status['registry_container']} (reachable only by the gateway, at {status['upstream']})\n"
            f"  portal:   http://{address}/\n"
            f"  publish:  hubpush push FOLDER --registry {address}\n"
            f"  stop:     hubpush hub down"
        ),
        highlight=False,
    )


def render_check(report: CheckReport, out: Console, *, as_json: bool) -> None:
    """``hub check``: each problem with what settles it, what ``--repair`` did, and the verdict."""
    if as_json:
        emit_json(report.to_dict())
        return
    for done in report.repaired:
        out.print(Text.assemble(("Repaired: ", "bold green"), done), highlight=False)
    for finding in report.remaining:
        out.print(Text.assemble(("Problem: ", "bold red"), finding.message, ("\n  fix: ", "dim"), finding.fix), highlight=False)
    checked = f"{report.executors} repositor{'ies' if report.executors != 1 else 'y'} at {report.registry}"
    if report.consistent:
        out.print(Text.assemble(("Consistent: ", "bold green"), checked), highlight=False)
    else:
        out.print(Text(f"{len(report.remaining)} problem{'s' if len(report.remaining) != 1 else ''} in {checked}."), highlight=False)
