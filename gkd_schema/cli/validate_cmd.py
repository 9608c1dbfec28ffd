"""`gkd validate`: every mistake in every config file, with its line and a fix.

The command that runs most often (pre-commit, CI) is usually parsed without Typer
(`gkd_schema.cli.fast_validate`); this is its Typer form, for `--help` and every
command line that parser leaves to Typer. Both run `validate_core.validate_configs`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from gkd_schema.cli.options import OFFLINE_OPTION, SET_OPTION, usage_errors_exit
from gkd_schema.cli.validate_core import ValidateArgs, validate_configs


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
    args = ValidateArgs(list(configs), output_format, list(sets or ()), quiet, deep, offline)
    with usage_errors_exit():
        output, code = validate_configs(args)
    if output:
        typer.echo(output)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("validate")(validate)
