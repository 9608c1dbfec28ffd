"""What a conversion decided: gkd keys with their sources, and the keys left behind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from gkd_schema.config.diagnostics import Loc

SourceTool = Literal["oumi", "trl"]
TOOL_NAMES: dict[SourceTool, str] = {"oumi": "Oumi", "trl": "TRL"}


class ConvertError(Exception):
    """The source file cannot be converted: not readable, or not the named tool's format.

    Attributes:
        message: One sentence saying what is wrong and what to do.
        line: 1-based line of the offending key, when known.
        column: 1-based column, when known.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Entry:
    """One gkd key's value and, when the name differs, the source key it came from."""

    value: Any
    source: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Unconverted:
    """A source key with no gkd equivalent: kept in the output as a comment, with why."""

    key: str
    value: Any
    reason: str


@dataclass
class ConversionPlan:
    """The gkd keys a conversion sets (in writing order) and the source keys it could not.

    Attributes:
        tool: The tool the source config is for.
        entries: gkd key path -> its entry, in the order they are written.
        unconverted: Source keys with no gkd equivalent, in source order.
    """

    tool: SourceTool
    entries: dict[Loc, Entry] = field(default_factory=dict)
    unconverted: list[Unconverted] = field(default_factory=list)

    def put(self, loc: Loc, value: Any, source: str | None = None, note: str | None = None) -> None:
        """Set the gkd key `loc`; `source` is kept to name in a comment when the key was renamed."""
        renamed = source is not None and source.rsplit(".", 1)[-1] != loc[-1]
        self.entries[loc] = Entry(value, source if renamed else None, note)

    def skip(self, key: str, value: Any, reason: str) -> None:
        """Record a source key that has no gkd equivalent."""
        self.unconverted.append(Unconverted(key, value, reason))
