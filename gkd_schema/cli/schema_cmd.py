"""`gkd schema`: print, write or drift-check the JSON Schema (or the config reference)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from gkd_schema.artifacts.drift import check_file
from gkd_schema.artifacts.editor_settings import Editor, render_editor_settings
from gkd_schema.artifacts.reference_docs import render_reference
from gkd_schema.artifacts.schema_export import SchemaBlock, render_schema
from gkd_schema.cli.options import usage_error


class OutputFormat(StrEnum):
    """What `gkd schema` renders."""

    JSON = "json"
    MARKDOWN = "markdown"


def schema(
    output: Path | None = typer.Option(
        None, "--output", "-o", metavar="PATH", help="Write to PATH instead of printing."
    ),
    check: Path | None = typer.Option(
        None,
        "--check",
        metavar="PATH",
        help="Exit 1 with a summary of the differences when PATH is not what the models produce.",
    ),
    block: SchemaBlock = typer.Option(
        SchemaBlock.CONFIG,
        "--block",
        help="`config`: the whole-run config file; `gkd`: the GKD parameter block alone.",
    ),
    output_format: OutputFormat = typer.Option(
        OutputFormat.JSON,
        "--format",
        "-f",
        help="`json`: the JSON Schema (draft 7); `markdown`: the config reference (docs/reference.md).",
    ),
    editor: Editor | None = typer.Option(
        None,
        "--editor",
        help="Print the settings that apply the installed schema to gkd configs in this editor.",
    ),
) -> None:
    """Print the JSON Schema of a gkd config, generated from the models.

    Editors use it for completion, hover docs and live errors. Exit 0 on success,
    1 when `--check` finds a difference, 2 for usage errors.
    """
    if output is not None and check is not None:
        raise usage_error("give --output or --check, not both")
    if editor is not None:
        if output is not None or check is not None:
            raise usage_error("--editor prints settings; it cannot be combined with --output or --check")
        typer.echo(render_editor_settings(editor), nl=False)
        return
    text = render_reference(block) if output_format is OutputFormat.MARKDOWN else render_schema(block)
    if check is not None:
        _check(check, text, block, output_format)
    elif output is not None:
        if not output.absolute().parent.is_dir():
            raise usage_error(f"the directory of {output} does not exist")
        if output.is_dir():
            raise usage_error(f"{output} is a directory; give a file name")
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)
    else:
        typer.echo(text, nl=False)


def _check(path: Path, text: str, block: SchemaBlock, output_format: OutputFormat) -> None:
    """Exit 0 when `path` holds `text`, 1 with a summary when it differs."""
    try:
        report = check_file(path, text)
    except FileNotFoundError:
        raise usage_error(f"no such file: {path}") from None
    except (IsADirectoryError, UnicodeDecodeError):
        raise usage_error(f"not a text file: {path}") from None
    if not report.drifted:
        typer.echo(f"{path} is up to date", err=True)
        return
    regenerate = f"gkd schema --block {block} --format {output_format} --output {path}"
    typer.echo(f"{path} differs from what the models produce:", err=True)
    for line in report.summary():
        typer.echo(f"  {line}", err=True)
    typer.echo(f"Regenerate it with: {regenerate}", err=True)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("schema")(schema)
