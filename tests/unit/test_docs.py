"""The user guide documents every exit code the CLI can return."""

import re
from pathlib import Path

from hubpush.errors import all_error_classes

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_errors_page_lists_every_exit_code_and_kind():
    text = (DOCS / "errors.md").read_text()
    rows = set(re.findall(r"^\|\s*(\d+)\s*\|", text, flags=re.M))
    for cls in all_error_classes():
        assert str(cls.exit_code) in rows, f"docs/errors.md has no row for exit code {cls.exit_code} ({cls.__name__})"
        assert cls.kind in text, f"docs/errors.md does not name the kind {cls.kind!r}"
