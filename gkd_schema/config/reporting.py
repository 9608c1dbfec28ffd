"""Render validation reports: text for people, JSON for machines, GitHub annotations.

Checking produces `FileReport`s; these functions only format them, so a new
output format touches this module alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from gkd_schema.config.diagnostics import Diagnostic
from gkd_schema.config.validation import FileReport

OutputFormat = Literal["text", "json", "github"]


def _ordered(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    """File order: positioned ones by line and column, then the rest."""
    return sorted(
        diagnostics,
        key=lambda d: (d.line is None, d.line or 0, d.column or 0),
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _where(report: FileReport, d: Diagnostic) -> str:
    if d.origin is not None:
        return f"{report.path}: {d.origin}"
    if d.line is None:
        return report.path
    return f"{report.path}:{d.line}:{d.column}"


def format_diagnostic(report: FileReport, d: Diagnostic) -> str:
    """`cfg.yaml:12:16: gkd.temperature: must be in (0, 1], got 1.5`."""
    label = "warning: " if d.severity == "warning" else ""
    key = f"{d.dotted}: " if d.loc else ""
    return f"{_where(report, d)}: {label}{key}{d.message}"


def render_text(reports: Sequence[FileReport], *, quiet: bool = False) -> str:
    """Human-readable lines, errors and warnings in file order, then a summary.

    Args:
        reports: One report per file.
        quiet: Print errors only: no warnings and no summary lines.
    """
    lines: list[str] = []
    for report in reports:
        shown = report.errors if quiet else [*report.errors, *report.warnings]
        lines.extend(format_diagnostic(report, d) for d in _ordered(shown))
        if quiet:
            continue
        if report.valid:
            extra = f" ({_plural(len(report.warnings), 'warning')})" if report.warnings else ""
            lines.append(f"{report.path}: valid{extra}")
        else:
            lines.append(f"{report.path}: {_plural(len(report.errors), 'error')}, not valid")
    return "\n".join(lines)


def _error_json(d: Diagnostic) -> dict[str, Any]:
    message = d.message if d.origin is None else f"{d.message} (set by {d.origin})"
    return {
        "loc": list(d.loc),
        "line": d.line,
        "column": d.column,
        "message": message,
        "type": d.type,
    }


def render_json(reports: Sequence[FileReport]) -> str:
    """Exactly one JSON document describing every file."""
    document = {
        "valid": all(r.valid for r in reports),
        "files": [
            {
                "path": r.path,
                "valid": r.valid,
                "errors": [_error_json(d) for d in _ordered(r.errors)],
                "warnings": [_error_json(d) for d in _ordered(r.warnings)],
            }
            for r in reports
        ],
    }
    import json  # here: text, the usual format, does without it, and `gkd validate` starts faster

    return json.dumps(document, indent=2, allow_nan=False, default=str)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(reports: Sequence[FileReport]) -> str:
    """GitHub Actions workflow commands (`::error file=...,line=...::...`)."""
    lines = []
    for report in reports:
        for d in _ordered([*report.errors, *report.warnings]):
            props = [f"file={_escape_property(report.path)}"]
            if d.line is not None:
                props += [f"line={d.line}", f"col={d.column}"]
            if d.loc:
                props.append(f"title={_escape_property(d.dotted)}")
            message = d.message if d.origin is None else f"{d.message} (set by {d.origin})"
            lines.append(f"::{d.severity} {','.join(props)}::{_escape_data(message)}")
    return "\n".join(lines)


def render_reports(
    reports: Sequence[FileReport], output_format: OutputFormat = "text", *, quiet: bool = False
) -> str:
    """Render reports in one of the formats."""
    if output_format == "json":
        return render_json(reports)
    if output_format == "github":
        return render_github(reports)
    return render_text(reports, quiet=quiet)
