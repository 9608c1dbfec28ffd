"""Positive and negative config files, parametrized by listing the folders.

Each negative file states what it must produce in header comments:
`# expect: LOC TYPE LINE TEXT` (errors) and `# expect-warning: ...` (warnings),
where LOC is the dotted key path (`-` for the whole file), LINE is 1-based
(`-` for none) and TEXT is a part of the message. Every error and warning must be
expected, so adding a case is adding a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from gkd_schema.config.diagnostics import Diagnostic
from gkd_schema.config.validation import validate_file

HERE = Path(__file__).parent / "configs"
EXAMPLES = Path(__file__).parent.parent / "examples"
POSITIVE = sorted((HERE / "positive").glob("*.yaml")) + sorted(EXAMPLES.glob("*.yaml"))
NEGATIVE = sorted((HERE / "negative").glob("*.yaml"))
_EXPECT = re.compile(rb"^# expect(-warning)?: (\S+) (\S+) (\S+) ?(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Expected:
    severity: str
    loc: str
    type: str
    line: int | None
    text: str


def _expectations(path: Path) -> list[Expected]:
    return [
        Expected(
            "warning" if warn else "error",
            loc.decode(),
            kind.decode(),
            None if line == b"-" else int(line),
            text.decode().strip(),
        )
        for warn, loc, kind, line, text in _EXPECT.findall(path.read_bytes())
    ]


def _loc(d: Diagnostic) -> str:
    return ".".join(str(p) for p in d.loc) or "-"


@pytest.mark.parametrize("path", POSITIVE, ids=lambda p: p.name)
def test_positive_configs_are_valid(path: Path) -> None:
    report = validate_file(path, environ={})
    assert report.errors == []
    assert report.config is not None


@pytest.mark.parametrize("path", NEGATIVE, ids=lambda p: p.name)
def test_negative_configs_report_exactly_what_they_expect(path: Path) -> None:
    expected = _expectations(path)
    assert expected, f"{path.name} has no `# expect:` lines"
    report = validate_file(path, environ={})
    found = [*report.errors, *report.warnings]
    assert len(found) == len(expected), [(_loc(d), d.type, d.line, d.message) for d in found]
    for exp in expected:
        matches = [
            d for d in found
            if (_loc(d), d.type, d.severity) == (exp.loc, exp.type, exp.severity)
        ]
        assert matches, f"no {exp} in {[(_loc(d), d.type, d.message) for d in found]}"
        d = matches[0]
        assert d.line == exp.line, (exp, d)
        assert exp.text in d.message, (exp, d.message)
        if d.line is not None:
            assert d.column is not None and d.column >= 1
    assert report.valid == (not any(e.severity == "error" for e in expected))
