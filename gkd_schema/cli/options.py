"""Options and checks shared by the commands that read a config file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

from gkd_schema.config.overrides import OverrideSyntaxError
from gkd_schema.config.validation import parse_overrides

SET_OPTION = typer.Option(
    None,
    "--set",
    metavar="KEY=VALUE",
    help=(
        "Override a config value, e.g. `--set training.learning_rate=2e-5` (the value is "
        "read as YAML). Repeatable. Precedence: --set > GKD_* environment variables > file."
    ),
)

OFFLINE_OPTION = typer.Option(
    False,
    "--offline",
    help=(
        "Use only the local Hugging Face cache, as `HF_HUB_OFFLINE=1` does: preflight fetches "
        "no config or tokenizer files and a Hub model that is not cached is an error."
    ),
)


def usage_error(message: str) -> typer.Exit:
    """Print one sentence to stderr; the caller raises the returned exit (code 2)."""
    typer.echo(f"gkd: {message}", err=True)
    return typer.Exit(2)


def check_config_paths(paths: Sequence[Path]) -> None:
    """Exit 2 with one sentence when a named config file does not exist."""
    for path in paths:
        if not path.exists():
            raise usage_error(f"no such file: {path}")
        if not path.is_file():
            raise usage_error(f"not a file: {path}")


def read_overrides(sets: Sequence[str] | None) -> list[str]:
    """The `--set` strings, checked up front so a malformed one exits 2."""
    try:
        parse_overrides(sets or ())
    except OverrideSyntaxError as exc:
        raise usage_error(str(exc)) from None
    return list(sets or ())


def require_training_extra(what: str) -> None:
    """Exit 2 with what to install when the `train` extra is missing.

    Args:
        what: What needs it, for the message (`gkd run`, `--deep`).
    """
    import importlib.util

    for module in ("torch", "transformers", "trl", "datasets", "accelerate"):
        if importlib.util.find_spec(module) is None:
            raise usage_error(f"{what} needs the training extra ({module} is missing): pip install 'gkd[train]'")
