"""Options and checks shared by the commands that read a config file."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import typer

from gkd_schema.cli import usage
from gkd_schema.cli.usage import UsageError

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


@contextmanager
def usage_errors_exit() -> Iterator[None]:
    """Turn a `UsageError` from the shared checks into Typer's exit 2 with its sentence."""
    try:
        yield
    except UsageError as exc:
        raise usage_error(str(exc)) from None


def check_config_paths(paths: Sequence[Path]) -> None:
    """Exit 2 with one sentence when a named config file does not exist."""
    with usage_errors_exit():
        usage.check_config_paths(paths)


def read_overrides(sets: Sequence[str] | None) -> list[str]:
    """The `--set` strings, checked up front so a malformed one exits 2."""
    with usage_errors_exit():
        return usage.read_overrides(sets)


def require_training_extra(what: str) -> None:
    """Exit 2 with what to install when the `train` extra is missing."""
    with usage_errors_exit():
        usage.require_training_extra(what)
