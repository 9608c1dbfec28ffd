"""`gkd validate`: every mistake in every config file, with its line and a fix."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from gkd_schema.cli.options import (
    OFFLINE_OPTION,
    SET_OPTION,
    check_config_paths,
    read_overrides,
    require_training_extra,
    usage_error,
)
from gkd_schema.config.reporting import render_reports
from gkd_schema.config.validation import FileReport, validate_file


def _deep_checks(report: FileReport, *, offline: bool) -> None:
    """Everything `gkd run` checks before loading weights, for a valid config."""
    if report.config is None:
        return
    require_training_extra("--deep")
    from gkd_schema.runner.preflight.checklist import check_run

    for diagnostic in check_run(report.config, base_dir=Path.cwd(), for_run=False, offline=offline).diagnostics:
        report.add(diagnostic)


def validate(
    configs: list[Path] = typer.Argument(
        ..., metavar="CONFIG...", help="Config files to check.", show_default=False
    ),
    output_format: str = typer.Option(
        "text",
        "--format",
        "-f",
        metavar="<text|json|github>",
        help="Output: `text`, `json` or `github` (workflow annotations).",
    ),
    sets: list[str] | None = SET_OPTION,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print errors only."),
    deep: bool = typer.Option(
        False,
        "--deep",
        help=(
            "Also run every check `gkd run` makes before loading weights: model paths, "
            "tokenizers of student and teacher, data rows, memory, TRL arguments, installed "
            "packages, the resume checkpoint (needs the `train` extra; loads no weights; fetches "
            "the config and tokenizer files of Hub models that are not cached)."
        ),
    ),
    offline: bool = OFFLINE_OPTION,
) -> None:
    """Check config files and report every error with file, line, column and a fix.

    Exit 0 when all are valid (warnings allowed), 1 when any is invalid, 2 for usage errors.
    """
    if output_format not in ("text", "json", "github"):
        raise usage_error(f"--format must be text, json or github, not {output_format!r}")
    fmt: Literal["text", "json", "github"] = output_format  # type: ignore[assignment]
    check_config_paths(configs)
    overrides = read_overrides(sets)
    reports = []
    for path in configs:
        report = validate_file(path, overrides)
        if deep:
            _deep_checks(report, offline=offline)
        reports.append(report)
    output = render_reports(reports, fmt, quiet=quiet)
    if output:
        typer.echo(output)
    raise typer.Exit(0 if all(r.valid for r in reports) else 1)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("validate")(validate)
