"""The `gkd` Typer application and its entry point.

Each command lives in its own module and registers itself here. Modules import
nothing heavy at import time: `gkd --help`, `gkd validate` and `gkd schema` must
never load torch, transformers, trl, datasets or accelerate.
"""

from __future__ import annotations

from typing import Any

import typer
import typer.core

from gkd_schema import __version__
from gkd_schema.cli import (
    convert_cmd,
    eval_cmd,
    export_cmd,
    init_cmd,
    plot_cmd,
    run_cmd,
    schema_cmd,
    show_cmd,
    validate_cmd,
)

_option_type = typer.core.TyperOption.display_type_rich


def _no_type_for_flags(self: typer.core.TyperOption, ctx: Any) -> str | None:
    # A flag takes no value, yet Typer 0.2x shows `<bool>` beside every one (`--help`
    # included); the type column is for what a user types after the option.
    return None if self.is_flag else _option_type(self, ctx)


typer.core.TyperOption.display_type_rich = _no_type_for_flags  # type: ignore[method-assign]

app = typer.Typer(
    name="gkd",
    help="On-policy knowledge distillation (GKD) of language models: validate, run, evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # a config may hold paths or tokens
    rich_markup_mode="markdown",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gkd {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """On-policy knowledge distillation (GKD) of language models."""


for _module in (validate_cmd, show_cmd, schema_cmd, init_cmd, convert_cmd, run_cmd, eval_cmd, plot_cmd, export_cmd):
    _module.register(app)


def main() -> None:
    """Console-script entry point; Ctrl-C exits 130 without a traceback."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        raise SystemExit(130) from None
