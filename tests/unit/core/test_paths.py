"""The pure path rules: printable names, archive entry names."""

from __future__ import annotations

import re

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubpush.core.paths import archive_member_parts, folded, printable
from hubpush.errors import UploadRejectedError


def test_printable_escapes_undecodable_bytes_and_control_characters():
    assert printable(os.fsdecode(b"caf\xff/\x1b[2J.txt")) == "caf\\xff/\\x1b[2J.txt"
    assert printable("plain/ünïcode.py") == "plain/ünïcode.py"


@given(st.text())
def test_printable_is_always_encodable_and_single_line(text):
    shown = printable(text)
    shown.encode("utf-8")
    assert "\n" not in shown and "\r" not in shown


@pytest.mark.parametrize(
    "name, parts",
    [("config.yml", ("config.yml",)), ("a/b/c.py", ("a", "b", "c.py")), ("./a//b/", ("a", "b")), ("a/./b", ("a", "b"))],
)
def test_accepted_names_and_their_parts(name, parts):
    assert archive_member_parts(name, 32) == parts


@given(st.text(min_size=1))
def test_accepted_names_never_climb_or_start_at_the_root(name):
    try:
        parts = archive_member_parts(name, 32)
    except UploadRejectedError as exc:
        exc.message.encode("utf-8")
        return
    assert parts and ".." not in parts and "." not in parts and "" not in parts
    assert not any("\\" in part or "\x00" in part for part in parts)
    assert not name.startswith("/") and not re.match(r"[A-Za-z]:", name)  # no root, no Windows drive ("0:" is a plain name)


def test_folding_makes_case_and_normalisation_twins_one_key():
    assert folded(("Config.YML",)) == folded(("config.yml",))
    assert folded(("e\u0301",)) == folded(("\u00e9",))
