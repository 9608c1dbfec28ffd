"""Usage errors and the argument checks every command shares, without Typer.

`gkd validate`'s own parser (`gkd_schema.cli.fast_validate`) runs without Typer, so the
checks it shares with the Typer commands raise `UsageError`; `gkd_schema.cli.options`
turns one into Typer's exit 2 with the same sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gkd_schema.config.overrides import OverrideSyntaxError
from gkd_schema.config.validation import parse_overrides


class UsageError(Exception):
    """A command line that cannot run: printed as `gkd: <message>`, exit 2."""


def check_config_paths(paths: Sequence[Path]) -> None:
    """Refuse a named config file that does not exist or is not a file."""
    for path in paths:
        if not path.exists():
            raise UsageError(f"no such file: {path}")
        if not path.is_file():
            raise UsageError(f"not a file: {path}")


def read_overrides(sets: Sequence[str] | None) -> list[str]:
    """The `--set` strings, checked up front so a malformed one is a usage error."""
    try:
        parse_overrides(sets or ())
    except OverrideSyntaxError as exc:
        raise UsageError(str(exc)) from None
    return list(sets or ())


def require_training_extra(what: str) -> None:
    """Refuse, saying what to install, when the `train` extra is missing.

    Args:
        what: What needs it, for the message (`gkd run`, `--deep`).
    """
    import importlib.util

    for module in ("torch", "transformers", "trl", "datasets", "accelerate"):
        if importlib.util.find_spec(module) is None:
            raise UsageError(f"{what} needs the training extra ({module} is missing): pip install 'gkd[train]'")
