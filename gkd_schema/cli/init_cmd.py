"""`gkd init`: write a commented starter config that editors check as you type."""

from __future__ import annotations

from pathlib import Path

import typer

from gkd_schema.artifacts.starter_config import (
    DEFAULT_STUDENT,
    DEFAULT_TEACHER,
    StarterConfigError,
    write_starter_config,
)
from gkd_schema.cli.options import usage_error
from gkd_schema.models import GkdSection, ModelSection


def init(
    path: Path = typer.Argument(Path("gkd.yaml"), help="Where to write the config."),
    # The option help is the models' own field documentation, written once.
    student: str = typer.Option(
        DEFAULT_STUDENT, "--student", help=ModelSection.model_fields["name_or_path"].description
    ),
    teacher: str = typer.Option(
        DEFAULT_TEACHER,
        "--teacher",
        help=GkdSection.model_fields["teacher_model_name_or_path"].description,
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite PATH if it exists."),
    schema_ref: str | None = typer.Option(
        None,
        "--schema",
        metavar="URL",
        help=(
            "What the `# yaml-language-server: $schema=` modeline points at. Default: the "
            "schema installed with gkd (a relative path inside the gkd repository)."
        ),
    ),
) -> None:
    """Write a commented starter config whose first line links it to the JSON Schema.

    Editors with the YAML language server then complete keys, show their docs on
    hover and flag mistakes while you type. Exit 0 when written, 2 when PATH exists
    (without --force) or an argument is invalid.
    """
    try:
        write_starter_config(path, student, teacher, force=force, schema_ref=schema_ref)
    except (StarterConfigError, FileNotFoundError) as exc:
        raise usage_error(str(exc)) from None
    except OSError as exc:
        raise usage_error(f"cannot write {path}: {exc.strerror}") from None
    typer.echo(f"wrote {path}: student {student}, teacher {teacher}")
    typer.echo(f"Next: put your conversations in the data file it names, then `gkd validate {path}`.")


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("init")(init)
