"""Compare a committed generated file with what the models produce now.

`gkd schema --check` and the drift tests use this: a difference is reported as a
short summary a person can act on (which schema keys changed, or which lines),
not a wall of diff.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_SUMMARY_LINES = 20


@dataclass(frozen=True)
class DriftReport:
    """The result of comparing one file with its freshly generated text.

    Attributes:
        path: The file compared.
        expected: What the models produce now.
        actual: The file's text.
    """

    path: Path
    expected: str
    actual: str

    @property
    def drifted(self) -> bool:
        """True when the file differs from what the models produce."""
        return self.expected != self.actual

    def summary(self, max_lines: int = MAX_SUMMARY_LINES) -> list[str]:
        """What differs, one change per line, at most `max_lines` lines (plus a count).

        JSON files are compared key by key (`changed /definitions/...: 1 -> 2`);
        other files, or JSON equal up to formatting, line by line.
        """
        if not self.drifted:
            return []
        changes = _json_changes(self.actual, self.expected)
        if changes is None or not changes:
            changes = _line_changes(self.actual, self.expected)
            if not changes:
                changes = ["whitespace or formatting differs"]
        if len(changes) > max_lines:
            hidden = len(changes) - max_lines
            changes = [*changes[:max_lines], f"... and {hidden} more"]
        return changes


def check_file(path: Path, expected: str) -> DriftReport:
    """Compare `path` with `expected`.

    Raises:
        FileNotFoundError: `path` does not exist.
        IsADirectoryError: `path` is a directory.
    """
    actual = path.read_text(encoding="utf-8")
    return DriftReport(path=path, expected=expected, actual=actual)


def _json_changes(old_text: str, new_text: str) -> list[str] | None:
    """Key-level changes between two JSON texts, or None if either is not JSON."""
    try:
        old, new = json.loads(old_text), json.loads(new_text)
    except json.JSONDecodeError:
        return None
    changes: list[str] = []
    _diff_values(old, new, "", changes)
    return changes


def _diff_values(old: Any, new: Any, pointer: str, changes: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() - new.keys()):
            changes.append(f"removed {pointer}/{key}")
        for key in new:
            child = f"{pointer}/{key}"
            if key not in old:
                changes.append(f"added {child}: {_short(new[key])}")
            else:
                _diff_values(old[key], new[key], child, changes)
    elif old != new or type(old) is not type(new):
        changes.append(f"changed {pointer or '/'}: {_short(old)} -> {_short(new)}")


def _short(value: Any, width: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 3] + "..."


def _line_changes(old_text: str, new_text: str) -> list[str]:
    diff = difflib.unified_diff(
        old_text.splitlines(), new_text.splitlines(), "committed", "generated", lineterm="", n=0
    )
    return [line for line in diff if not line.startswith(("---", "+++"))]
