"""What loading a YAML document gives besides its value: positions, limits, work done, errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from gkd_schema.config.diagnostics import Loc


class Mark(NamedTuple):
    """A 1-based line and column in the source text."""

    line: int
    column: int


class AliasUse(NamedTuple):
    """A value that an alias (or a merge key) copied from an anchor."""

    anchor: str
    anchor_mark: Mark


@dataclass
class PositionMap:
    """Where each key path was written: the key itself and its value.

    Attributes:
        keys: Key path -> where its key was written.
        values: Key path -> where its value starts (for a value copied by an alias,
            the alias).
        aliases: Key path -> the anchor its value was copied from, for values
            reached through an alias or a merge key.
    """

    keys: dict[Loc, Mark] = field(default_factory=dict)
    values: dict[Loc, Mark] = field(default_factory=dict)
    aliases: dict[Loc, AliasUse] = field(default_factory=dict)

    def locate(self, loc: Loc, *, prefer_key: bool = False) -> Mark | None:
        """The best position for `loc`: itself, else the nearest enclosing key.

        Args:
            loc: The key path.
            prefer_key: Point at the key rather than its value (unknown keys).
        """
        for end in range(len(loc), -1, -1):
            prefix = loc[:end]
            first, second = (self.keys, self.values) if prefer_key or end < len(loc) else (
                self.values,
                self.keys,
            )
            mark = first.get(prefix) or second.get(prefix)
            if mark is not None:
                return mark
        return None

    def alias_of(self, loc: Loc) -> AliasUse | None:
        """The anchor that `loc` (or a key above it) was copied from, if any."""
        for end in range(len(loc), 0, -1):
            use = self.aliases.get(loc[:end])
            if use is not None:
                return use
        return None


class LoadLimits(NamedTuple):
    """Bounds on what a document may cost; past any of them loading stops with an error.

    Attributes:
        max_bytes: Largest text accepted, in bytes of UTF-8 (a config is a few kB).
        max_depth: Deepest nesting of mappings and lists, aliases expanded.
        max_values: Most values (scalars, lists and mappings) after aliases and
            merge keys are expanded. A config has hundreds; the parser spends about
            50 us on each, so this bound also keeps the worst input near a second.
    """

    max_bytes: int = 1_000_000
    max_depth: int = 64
    max_values: int = 20_000


LIMITS = LoadLimits()


@dataclass
class LoadWork:
    """What loading cost, counted so that tests can bound work rather than time.

    Attributes:
        bytes_read: Bytes of the file read (0 for text given directly).
        events: Parser events consumed.
        values_built: Values written in the text.
        values_copied: Values produced by aliases and merge keys.
        aliases: Aliases resolved, merge sources included.
        merges: Merge keys (`<<`) applied.
        max_depth: Deepest nesting reached.
    """

    bytes_read: int = 0
    events: int = 0
    values_built: int = 0
    values_copied: int = 0
    aliases: int = 0
    merges: int = 0
    max_depth: int = 0


class YamlLoadError(Exception):
    """The text is not a YAML document gkd can read; carries the position and key path."""

    def __init__(self, message: str, kind: str, mark: Mark | None = None, loc: Loc = ()) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.mark = mark
        self.loc = loc
