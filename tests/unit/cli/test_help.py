"""Every command's --help renders: help texts hold brackets like [/NAMESPACE] that are not markup."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hubpush.cli import app


@pytest.mark.parametrize(
    "command", [[], ["push"], ["show"], ["pull"], ["version"], ["hub"], ["hub", "serve"], ["hub", "up"], ["hub", "down"], ["hub", "status"]]
)
def test_help_renders_for_every_command(command):
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_registry_help_names_the_namespace_form():
    result = CliRunner().invoke(app, ["push", "--help"], terminal_width=200)
    assert "[http(s)://]HOST:PORT[/NAMESPACE]" in result.output
