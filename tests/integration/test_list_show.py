"""`hubpush list`, and what `show` and `push` say about the portal, against a real gateway and a real registry:2.

Executors are published once per module with the real CLI (each publish is a docker build).
The session's registries hold other tests' executors too, so every listing here searches for
a word only this module's executors carry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from hubpush.core.catalog import human_size
from hubpush.core.names import repository_for
from tests.conftest import TEST_BASE_IMAGE, CliResult, free_port, unique_name

README = "# {name}\n\n![badge](https://example.com/b.svg) The **{word}** executor\nsplits text.\n\n## Usage\n\nMore text.\n"


@dataclass
class Published:
    name: str
    repository: str
    push: CliResult


class Cli:
    """The real CLI with a secret cache of this module's own, pointed at one registry address."""

    def __init__(self, home: Path, address: str) -> None:
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HUBPUSH_")}
        self.env.update(
            HUBPUSH_CONFIG_DIR=str(home / "config"), HUBPUSH_REGISTRY=address, HUBPUSH_BASE_IMAGE=TEST_BASE_IMAGE, COLUMNS="250"
        )

    def __call__(self, *args: object) -> CliResult:
        done = subprocess.run(
            [sys.executable, "-m", "hubpush", *map(str, args)], env=self.env, capture_output=True, text=True, timeout=600,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        return CliResult(done.returncode, done.stdout, done.stderr)

    def publish(self, prefix: str, *args: object, description: str, files: dict[str, str] | None = None, human: bool = False) -> Published:
        name = unique_name(prefix)
        folder = self.home / name
        folder.mkdir()
        config = f"jtype: {name}\npy_modules:\n  - executor.py\nmetas:\n  name: {name}\n  description: {description}\n"
        for rel, text in {"config.yml": config, "executor.py": f"# {name}\n", **(files or {})}.items():
            (folder / rel).write_text(text.format(name=name, word=prefix.lower()))
        result = self("push", *([] if human else ["--json"]), folder, *args)
        assert result.exit_code == 0, result.stderr + result.stdout
        return Published(name, repository_for(name), result)


def names(listing: dict) -> list[str]:
    return [item["name"] for item in listing["executors"]]


class Executors(dict[str, Published]):
    """A module's executors by role, the CLI that published them, and the word only they carry."""

    def __init__(self, tmp_path_factory, address: str) -> None:
        super().__init__()
        self.cli = Cli(tmp_path_factory.mktemp("list"), address)
        self.word = f"w{uuid.uuid4().hex[:10]}"

    def __getattr__(self, role: str) -> Published:
        try:
            return self[role]
        except KeyError:
            raise AttributeError(role) from None


# --- through a hub gateway ------------------------------------------------------------------
@pytest.fixture(scope="module")
def on_hub(gateway, tmp_path_factory) -> Executors:
    """first: public, README, keywords, a protected tag, pushed first; second: public, keywords,
    pushed last in human mode; and a private one."""
    found = Executors(tmp_path_factory, gateway.address)
    cli, word = found.cli, found.word
    found["first"] = cli.publish(
        "Aa", "-t", "latest", "--protected-tag", "v1", description=f"{word} encoder of images",
        files={"README.md": README, "manifest.yml": "keywords: [vision, encoder]\n"},
    )  # fmt: skip
    found["private"] = cli.publish("Mm", "--private", description=f"{word} private one")
    time.sleep(1.1)  # push times have one-second resolution: the last push is strictly the newest
    found["second"] = cli.publish("Zz", description=f"{word} splitter", files={"manifest.yml": f"keywords: [nlp, {word}kw]\n"}, human=True)
    return found


def test_list_through_the_hub_by_name_and_recent_without_the_private_one(on_hub, gateway):
    by_name = on_hub.cli("list", "--json", "--search", on_hub.word)
    assert by_name.exit_code == 0, by_name.stderr
    listing = by_name.json
    assert names(listing) == [on_hub.first.name, on_hub.second.name]  # the private one is not listed
    assert on_hub.private.name not in by_name.stdout
    assert listing["hub"] is True and listing["sort"] == "name" and listing["total"] == 2 and listing["pages"] == 1
    assert listing["portal_url"] == f"http://{gateway.address}/"
    recent = on_hub.cli("list", "--json", "--recent", "--search", on_hub.word).json
    assert names(recent) == [on_hub.second.name, on_hub.first.name] and recent["sort"] == "recent"
    assert recent["executors"][0]["last_push"] > recent["executors"][1]["last_push"]
    first = listing["executors"][0]
    assert first["visibility"] == "public" and first["keywords"] == ["vision", "encoder"]
    assert first["image"] == f"{gateway.address}/{on_hub.first.repository}"
    assert first["portal_url"] == f"http://{gateway.address}/executors/{on_hub.first.repository}"
    assert {tag["tag"]: tag["protected"] for tag in first["tags"]} == {"latest": False, "v1": True}
    assert first["size"] > 0


def test_search_through_the_hub_reads_descriptions_and_keywords(on_hub):
    in_description = on_hub.cli("list", "--json", "--search", f"{on_hub.word} IMAGES").json
    assert names(in_description) == [on_hub.first.name]
    in_keywords = on_hub.cli("list", "--json", "--search", f"{on_hub.word}KW").json
    assert names(in_keywords) == [on_hub.second.name] and in_keywords["q"] == f"{on_hub.word}KW"
    nothing = on_hub.cli("list", "--search", f"{on_hub.word} nothing-like-this")
    assert nothing.exit_code == 0 and "No executors matching" in nothing.stdout


def test_list_table_through_the_hub(on_hub, gateway):
    size = on_hub.cli("list", "--json", "--search", on_hub.word).json["executors"][0]["size"]
    result = on_hub.cli("list", "--search", on_hub.word)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    first_row = next(line for line in lines if on_hub.first.name in line)
    for expected in ["public", "v1*, latest", "encoder of images", human_size(size), " UTC "]:
        assert expected in first_row, (expected, first_row)
    assert "2 executors" in result.stdout and "* protected tag" in result.stdout
    assert f"Portal: http://{gateway.address}/" in result.stdout
    assert "Private executors are not listed" in result.stderr


def test_show_through_the_hub_has_the_readme_summary_and_the_portal_url(on_hub, gateway):
    page = f"http://{gateway.address}/executors/{on_hub.first.repository}"
    shown = on_hub.cli("show", "--json", on_hub.first.name).json
    assert shown["readme_summary"] == "The aa executor splits text."
    assert shown["portal_url"] == page and shown["keywords"] == ["vision", "encoder"]
    human = on_hub.cli("show", on_hub.first.name)
    assert "The aa executor splits text." in human.stdout and f"Portal: {page}" in human.stdout
    without_readme = on_hub.cli("show", "--json", on_hub.second.name).json
    assert without_readme["readme_summary"] == ""


def test_push_through_the_hub_prints_the_portal_url(on_hub, gateway):
    assert json.loads(on_hub.first.push.stdout)["portal_url"] == f"http://{gateway.address}/executors/{on_hub.first.repository}"
    assert f"Portal: http://{gateway.address}/executors/{on_hub.second.repository}" in on_hub.second.push.stdout
    # and the line Jina's own Flows use against the hub (the Jina Hub API, docs/jina.md)
    jina_line = f"uses: jinahub+docker://{on_hub.second.name}/latest   (with JINA_HUBBLE_REGISTRY=http://{gateway.address}/jina)"
    assert jina_line in on_hub.second.push.stdout


# --- on a bare registry ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def on_registry(registry, tmp_path_factory) -> Executors:
    found = Executors(tmp_path_factory, registry.address)
    found["public"] = found.cli.publish(
        "Bare", "--protected-tag", "1.0", description=f"{found.word} bare one",
        files={"README.md": README, "manifest.yml": "keywords: [bare]\n"},
    )  # fmt: skip
    found["private"] = found.cli.publish("Hidden", "--private", description=f"{found.word} hidden one")
    return found


def test_list_on_a_bare_registry_reads_the_catalog_and_lists_only_public_ones(on_registry, registry):
    result = on_registry.cli("list", "--json", "--search", on_registry.word)
    assert result.exit_code == 0, result.stderr
    listing = result.json
    assert names(listing) == [on_registry.public.name]
    assert listing["hub"] is False and listing["portal_url"] == "" and "bare registry" in listing["notes"][0]
    item = listing["executors"][0]
    assert item["image"] == f"{registry.address}/{on_registry.public.repository}" and item["keywords"] == ["bare"]
    assert {tag["tag"]: tag["protected"] for tag in item["tags"]} == {"1.0": True}
    # the size is the image's as the registry holds it: config and layers
    _, manifest = registry.manifest(on_registry.public.repository, "1.0")
    assert item["size"] == manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])
    # the same search as the hub: by keyword, and nothing for the private one's own words
    assert names(on_registry.cli("list", "--json", "--recent", "--search", f"{on_registry.word} BARE").json) == [on_registry.public.name]
    assert names(on_registry.cli("list", "--json", "--search", f"{on_registry.word} hidden").json) == []
    human = on_registry.cli("list", "--search", on_registry.word, "--page", "3")  # past the last page: the last one
    assert human.exit_code == 0 and on_registry.public.name in human.stdout and on_registry.private.name not in human.stdout
    assert "Note:" in human.stderr and "cannot keep private executors private" in human.stderr


def test_show_and_push_on_a_bare_registry_have_the_summary_but_no_portal(on_registry):
    shown = on_registry.cli("show", "--json", on_registry.public.name).json
    assert shown["readme_summary"] == "The bare executor splits text." and shown["portal_url"] == ""
    assert json.loads(on_registry.public.push.stdout)["portal_url"] == ""
    human = on_registry.cli("show", on_registry.public.name)
    assert "The bare executor splits text." in human.stdout and "Portal:" not in human.stdout


def test_list_when_no_registry_answers_is_one_sentence(tmp_path):
    cli = Cli(tmp_path, f"localhost:{free_port()}")
    result = cli("list")
    assert result.exit_code == 30, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "cannot be reached" in errors[0] and "Traceback" not in result.stderr
    as_json = cli("list", "--json")
    assert as_json.exit_code == 30 and as_json.json["error"]["kind"] == "registry-unreachable"
