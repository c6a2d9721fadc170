"""Hostile folders against a real registry:2 and engine: refused, the registry unchanged."""

from __future__ import annotations

import os


def test_a_fifo_deep_in_the_build_context_is_refused_before_anything_is_written(make_executor, refused):
    folder, _name = make_executor()
    (folder / "models").mkdir()
    os.mkfifo(folder / "models" / "feed")
    result = refused("push", folder, code=18, says="models/feed in ")
    assert "is a FIFO (named pipe), which hubpush never reads; remove it from the folder or list it in .dockerignore." in result.stderr


def test_the_same_folder_pushes_once_dockerignore_leaves_the_fifo_out(make_executor, hubpush):
    folder, name = make_executor(files={".dockerignore": "models/feed\n"})
    (folder / "models").mkdir()
    os.mkfifo(folder / "models" / "feed")
    result = hubpush("push", "--json", folder)
    assert result.exit_code == 0, result.stderr
    assert result.json["name"] == name
