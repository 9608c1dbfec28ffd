"""`--help` shows what each option takes: its type or its choices, and nothing for a flag."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gkd_schema.cli.app import app

COMMANDS = ("validate", "show", "schema", "init", "convert", "run", "eval", "plot", "export")


def _help(command: str) -> str:
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=160)
    assert result.exit_code == 0
    return result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_flags_show_no_type_placeholder(command: str) -> None:
    assert "<bool>" not in _help(command)


@pytest.mark.parametrize(
    ("command", "choices"),
    [
        ("validate", "<text|json|github>"),
        ("run", "<text|json|github>"),
        ("show", "<yaml|json>"),
        ("eval", "<text|json>"),
        ("schema", "<json|markdown>"),
    ],
)
def test_format_shows_its_choices(command: str, choices: str) -> None:
    line = next(line for line in _help(command).splitlines() if "--format" in line)
    assert choices in line
