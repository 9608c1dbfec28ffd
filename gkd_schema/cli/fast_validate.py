"""`gkd validate` without Typer, for the command lines pre-commit and CI run.

Importing Typer (with its click) is about a sixth of `gkd validate`'s start-up, and a
hook runs it on every commit. This parser reads the common forms: config paths and
`--format`/`-f`, `--set` (both as `--opt VALUE` or `--opt=VALUE`), `--quiet`/`-q`,
`--deep` and `--offline`, in any order. Whatever else a command line holds (`--help`,
an option it does not know, a value that looks like an option, `--`, no path), it
declines, and Typer reads the line as before, with its own help and errors; so the
two never disagree on what a line means, only on who reads it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from gkd_schema.cli.usage import UsageError
from gkd_schema.cli.validate_core import ValidateArgs, validate_configs

_FLAGS = {"--quiet": "quiet", "-q": "quiet", "--deep": "deep", "--offline": "offline"}
_VALUED = {"--format": "format", "-f": "format", "--set": "set"}


def parse(argv: Sequence[str]) -> ValidateArgs | None:
    """`gkd validate`'s arguments from `argv` (after `gkd`), or None where Typer must read it."""
    if not argv or argv[0] != "validate":
        return None
    configs: list[Path] = []
    sets: list[str] = []
    output_format = "text"
    flags: set[str] = set()
    rest = list(argv[1:])
    while rest:
        token = rest.pop(0)
        if not token.startswith("-"):
            configs.append(Path(token))
            continue
        name, eq, attached = token.partition("=")
        if token in _FLAGS:
            flags.add(_FLAGS[token])
            continue
        if name not in _VALUED or (eq and name == "-f"):
            return None  # unknown, `--`, `-`, bundled short options, `-f=x`: Typer's to read
        if eq:
            value = attached
        elif rest and not rest[0].startswith("-"):
            value = rest.pop(0)
        else:
            return None
        if _VALUED[name] == "format":
            output_format = value
        else:
            sets.append(value)
    if not configs:
        return None
    return ValidateArgs(configs, output_format, sets, "quiet" in flags, "deep" in flags, "offline" in flags)


def _echo(text: str, stream: TextIO) -> None:
    """`text` and a newline, as Typer echoes it; a character the stream cannot encode is escaped."""
    try:
        stream.write(text + "\n")
    except UnicodeEncodeError:
        encoding = stream.encoding or "utf-8"
        stream.write((text + "\n").encode(encoding, "backslashreplace").decode(encoding))
    stream.flush()


def run(argv: Sequence[str]) -> int | None:
    """Run `gkd validate` and return its exit code, or None (nothing done) where Typer must read `argv`."""
    args = parse(argv)
    if args is None:
        return None
    try:
        output, code = validate_configs(args)
    except UsageError as exc:
        _echo(f"gkd: {exc}", sys.stderr)
        return 2
    if output:
        _echo(output, sys.stdout)
    return code
