"""`gkd show`: the fully resolved config, every default filled in."""

from __future__ import annotations

from pathlib import Path

import typer

from gkd_schema.cli.options import SET_OPTION, check_config_paths, read_overrides, usage_error
from gkd_schema.config.reporting import render_text
from gkd_schema.config.resolved import dump_resolved
from gkd_schema.config.validation import validate_file


def show(
    config: Path = typer.Argument(..., metavar="CONFIG", help="The config file.", show_default=False),
    sets: list[str] | None = SET_OPTION,
    output_format: str = typer.Option(
        "yaml", "--format", "-f", metavar="<yaml|json>", help="Output: `yaml` or `json`."
    ),
) -> None:
    """Print the resolved config (file, environment and --set applied, defaults filled in).

    The output is itself a valid config. Exit 1 (with the errors) when the config is invalid.
    """
    if output_format not in ("yaml", "json"):
        raise usage_error(f"--format must be yaml or json, not {output_format!r}")
    check_config_paths([config])
    report = validate_file(config, read_overrides(sets))
    if report.config is None:
        typer.echo(render_text([report]), err=True)
        raise typer.Exit(1)
    if report.warnings:
        typer.echo(render_text([report]), err=True)
    typer.echo(dump_resolved(report.config, "json" if output_format == "json" else "yaml"), nl=False)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("show")(show)
