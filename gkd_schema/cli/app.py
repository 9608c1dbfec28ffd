"""The `gkd` Typer application.

Each command lives in its own module and registers itself here. Modules import
nothing heavy at import time: `gkd --help`, `gkd validate` and `gkd schema` must
never load torch, transformers, trl, datasets or accelerate.

The console script (`gkd_schema.cli.entry`) runs the common `gkd validate` command
lines without Typer, and comes here for the rest: `run_app` imports only the module of
the command it was given (all of them for `--help`, a typo or no command).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

import typer
import typer.core

from gkd_schema import __version__

# Command name -> its module under gkd_schema.cli, in the order `gkd --help` lists them.
COMMANDS = {
    "validate": "validate_cmd",
    "show": "show_cmd",
    "schema": "schema_cmd",
    "init": "init_cmd",
    "convert": "convert_cmd",
    "run": "run_cmd",
    "eval": "eval_cmd",
    "plot": "plot_cmd",
    "export": "export_cmd",
}

_option_type = typer.core.TyperOption.display_type_rich


def _no_type_for_flags(self: typer.core.TyperOption, ctx: Any) -> str | None:
    # A flag takes no value, yet Typer 0.2x shows `<bool>` beside every one (`--help`
    # included); the type column is for what a user types after the option.
    return None if self.is_flag else _option_type(self, ctx)


typer.core.TyperOption.display_type_rich = _no_type_for_flags  # type: ignore[method-assign]

def _version(value: bool) -> None:
    if value:
        typer.echo(f"gkd {__version__}")
        raise typer.Exit(0)


def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """On-policy knowledge distillation (GKD) of language models."""


def build_app(commands: Iterable[str] = COMMANDS) -> typer.Typer:
    """The `gkd` application with the given commands (names in `COMMANDS`)."""
    built = typer.Typer(
        name="gkd",
        help="On-policy knowledge distillation (GKD) of language models: validate, run, evaluate.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_show_locals=False,  # a config may hold paths or tokens
        rich_markup_mode="markdown",
    )
    built.callback()(_root)
    for name in commands:
        importlib.import_module(f"gkd_schema.cli.{COMMANDS[name]}").register(built)
    return built


def _commands_for(argv: list[str]) -> Iterable[str]:
    """The commands `argv` can need: the one it names, else all (help, `--version`, a typo)."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    return [first] if first in COMMANDS else COMMANDS


def __getattr__(name: str) -> Any:
    # `app`, with every command, is built on first use: `run_app` builds only what it runs.
    if name == "app":
        globals()["app"] = built = build_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run_app(argv: list[str]) -> None:
    """Run the Typer app, built with the commands `argv` can need; exits as Typer does."""
    build_app(_commands_for(argv))(argv)
