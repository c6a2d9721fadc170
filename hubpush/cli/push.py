"""``hubpush push PATH``: build an executor folder and publish it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from ..config import BASE_IMAGE_ENV, DEFAULT_BASE_IMAGE, DEFAULT_REGISTRY, SECRET_ENV, PushSettings
from .app import JsonOption, RegistryOption, VerboseOption, app, err, out, run
from .render import CliReporter, render_push

if TYPE_CHECKING:
    from ..publish import PushResult


# a typer command takes one parameter per flag: that is how typer declares them
@app.command()
def push(
    path: Annotated[Path, typer.Argument(help="The executor folder (config.yml, Python modules, requirements.txt, ...).")],
    public: Annotated[bool, typer.Option("--public", help="Anyone may pull it (default for new executors).")] = False,
    private: Annotated[bool, typer.Option("--private", help="Only holders of the secret may pull it.")] = False,
    force_update: Annotated[
        Optional[str], typer.Option("--force-update", metavar="NAME", help="Update the existing executor NAME.")
    ] = None,
    secret: Annotated[
        Optional[str],
        typer.Option(
            "--secret",
            help=f"The executor's secret; env {SECRET_ENV} (read only with --force-update); cached on the publishing machine.",
        ),
    ] = None,
    tag: Annotated[
        Optional[list[str]], typer.Option("--tag", "-t", metavar="TAG", help="Tag to push; repeatable. Default: latest.")
    ] = None,
    protected_tag: Annotated[
        Optional[list[str]], typer.Option("--protected-tag", metavar="TAG", help="Push this tag and never allow pushing it again.")
    ] = None,
    dockerfile: Annotated[
        Optional[str], typer.Option("--dockerfile", "-f", help="Dockerfile inside the folder (default: ./Dockerfile, else the template).")
    ] = None,
    build_env: Annotated[
        Optional[list[str]], typer.Option("--build-env", metavar="KEY=VALUE", help="Build argument; fills ${KEY} in requirements.txt.")
    ] = None,
    platform: Annotated[Optional[str], typer.Option("--platform", help="Target platform, e.g. linux/amd64.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Build without the engine's layer cache.")] = False,
    base_image: Annotated[
        Optional[str],
        typer.Option(
            "--base-image",
            help=f"Base image for the template; env {BASE_IMAGE_ENV}; default {DEFAULT_BASE_IMAGE}.",
        ),
    ] = None,
    registry: RegistryOption = DEFAULT_REGISTRY,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Build the executor folder into an image and push it, with Jina Hub's push semantics."""

    def action() -> PushResult:
        from ..publish import push_executor  # the flow, the registry client, the engine: only for a push

        settings = PushSettings.from_flags(
            path=path, public=public, private=private, force_update=force_update, secret=secret,
            tags=tag, protected_tags=protected_tag, dockerfile=dockerfile, build_env=build_env,
            platform=platform, no_cache=no_cache, base_image=base_image, registry=registry,
        )  # fmt: skip
        with CliReporter(err, verbose=verbose, quiet=as_json) as reporter:
            return push_executor(settings, reporter)

    result = run(action, as_json=as_json, verbose=verbose)
    render_push(result, out, err, as_json=as_json)
