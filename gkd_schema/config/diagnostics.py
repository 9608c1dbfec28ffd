"""The unit of every report: one error or warning about one place in a config."""

from __future__ import annotations

from typing import Literal, NamedTuple

Severity = Literal["error", "warning"]
Loc = tuple[str | int, ...]


class Diagnostic(NamedTuple):
    """One problem found in a config, with where it is and how to fix it.

    Attributes:
        loc: Key path from the top of the config, e.g. `("gkd", "temperature")`.
        message: What is wrong and, where one exists, the fix.
        type: A stable machine-readable kind, e.g. `less_than_equal`.
        severity: `error` fails validation; `warning` is shown and does not.
        line: 1-based line in the file, or None when the problem has no line
            (a missing file, an override from `--set` or the environment).
        column: 1-based column, or None like `line`.
        origin: Where the offending value came from when not the file itself,
            e.g. `--set gkd.beta=2` or `env GKD_GKD__BETA`.
    """

    loc: Loc
    message: str
    type: str
    severity: Severity = "error"
    line: int | None = None
    column: int | None = None
    origin: str | None = None

    @property
    def dotted(self) -> str:
        """The key path as people write it: `data.train.path`, `report_to[1]`."""
        out = ""
        for part in self.loc:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out
