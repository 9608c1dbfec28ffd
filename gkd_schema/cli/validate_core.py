"""What `gkd validate` does once its command line is read, by Typer or by gkd's own parser."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, NamedTuple, cast

from gkd_schema.cli.usage import UsageError, check_config_paths, read_overrides, require_training_extra
from gkd_schema.config.reporting import render_reports
from gkd_schema.config.validation import FileReport, validate_file

FORMATS = ("text", "json", "github")


class ValidateArgs(NamedTuple):
    """`gkd validate`'s arguments, as its `--help` describes them."""

    configs: Sequence[Path]
    output_format: str = "text"
    sets: Sequence[str] = ()
    quiet: bool = False
    deep: bool = False
    offline: bool = False


def _deep_checks(report: FileReport, *, offline: bool) -> None:
    """Everything `gkd run` checks before loading weights, for a valid config."""
    if report.config is None:
        return
    require_training_extra("--deep")
    from gkd_schema.runner.preflight.checklist import check_run

    for diagnostic in check_run(report.config, base_dir=Path.cwd(), for_run=False, offline=offline).diagnostics:
        report.add(diagnostic)


def validate_configs(args: ValidateArgs) -> tuple[str, int]:
    """The report to print and the exit code: 0 all valid (warnings allowed), 1 any invalid.

    Raises:
        UsageError: an unknown format, a missing file, a malformed `--set`.
    """
    if args.output_format not in FORMATS:
        raise UsageError(f"--format must be text, json or github, not {args.output_format!r}")
    fmt = cast(Literal["text", "json", "github"], args.output_format)
    check_config_paths(args.configs)
    overrides = read_overrides(args.sets)
    reports = []
    for path in args.configs:
        report = validate_file(path, overrides)
        if args.deep:
            _deep_checks(report, offline=args.offline)
        reports.append(report)
    return render_reports(reports, fmt, quiet=args.quiet), 0 if all(r.valid for r in reports) else 1
