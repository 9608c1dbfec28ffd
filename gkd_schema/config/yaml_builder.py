"""Plain values from a stream of parser events, built without recursion and within bounds.

ruamel.yaml's composer recurses once per nesting level and expands merge keys
without counting them, so deep nesting overflows the stack and nested merges
take minutes. Here each event is handled with an explicit stack: nesting is
refused at the first level past the limit, and every value an alias or merge
key copies counts against the value budget before it is copied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    Event,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
)

from gkd_schema.config.diagnostics import Loc
from gkd_schema.config.yaml_document import AliasUse, LoadLimits, LoadWork, Mark, PositionMap, YamlLoadError
from gkd_schema.config.yaml_scalars import MERGE_TAG, check_collection_tag, scalar_value

_MERGE = object()  # the pending key of a mapping whose next value is a merge source


def mark_of(event: Event) -> Mark:
    """The 1-based position where an event starts."""
    return Mark(event.start_mark.line + 1, event.start_mark.column + 1)


@dataclass
class _Anchored:
    """A finished value with an anchor, and what copying it costs."""

    value: Any
    size: int
    height: int
    mark: Mark


@dataclass
class _Frame:
    """A mapping or list being built."""

    loc: Loc
    value: dict[str, Any] | list[Any]
    anchor: str | None
    mark: Mark
    size: int = 1
    height: int = 0
    key: str | object | None = None  # mappings: the key whose value comes next
    key_marks: dict[str, Mark] = field(default_factory=dict)
    merge_mark: Mark | None = None
    merged: dict[str, Any] = field(default_factory=dict)
    merge_source: bool = False  # the value of `<<` (its keys land in the parent)


def _copy(value: Any) -> Any:
    """A fresh copy, so that an override of one use of an anchor leaves the others alone."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


class DocumentBuilder:
    """Consumes the node events of one document; `result` is its value at the end."""

    def __init__(self, limits: LoadLimits, work: LoadWork) -> None:
        self.limits = limits
        self.work = work
        self.positions = PositionMap()
        self.result: Any = None
        self._stack: list[_Frame] = []
        self._anchors: dict[str, _Anchored | None] = {}  # None: the anchored value is still open

    @property
    def done(self) -> bool:
        """True once the root value is complete."""
        return not self._stack

    def feed(self, event: Event) -> None:
        """Handle one node event (scalar, alias, collection start or end).

        Raises:
            YamlLoadError: with the key path of the value (or mapping) it is about.
        """
        try:
            self._feed(event)
        except YamlLoadError as exc:
            if not exc.loc and self._stack:
                exc.loc = self._stack[-1].loc if self._expects_key() else self._child_loc()
            raise

    def _feed(self, event: Event) -> None:
        if isinstance(event, NodeEvent) and self._stack and self._expects_key():
            self._key(event)
        elif isinstance(event, ScalarEvent):
            self._scalar(event)
        elif isinstance(event, AliasEvent):
            self._alias(event)
        elif isinstance(event, CollectionStartEvent):
            self._open(event)
        else:  # the end of the innermost collection
            self._close()

    def _expects_key(self) -> bool:
        top = self._stack[-1]
        return isinstance(top.value, dict) and top.key is None

    def _child_loc(self) -> Loc:
        if not self._stack:
            return ()
        top = self._stack[-1]
        if top.key is _MERGE:
            return top.loc  # a merge source's keys belong to the mapping it merges into
        if isinstance(top.value, list):
            return (*top.loc, len(top.value))
        return (*top.loc, str(top.key))

    def _count(self, built: int, copied: int, mark: Mark, loc: Loc, anchor: str | None = None) -> None:
        total = self.work.values_built + self.work.values_copied + built + copied
        if total <= self.limits.max_values:
            self.work.values_built += built
            self.work.values_copied += copied
            return
        limit = f"{self.limits.max_values:,}"
        if anchor is not None:
            message = (
                f"the alias `*{anchor}` would expand the document past {limit} values "
                f"({self.work.values_copied:,} already copied by aliases and merge keys, "
                f"{copied:,} more here); write the values out or use fewer aliases"
            )
        else:
            message = (
                f"the document has more than {limit} values; a config has far fewer, "
                "so check that this is the right file"
            )
        raise YamlLoadError(message, "too_large", mark, loc)

    def _check_depth(self, depth: int, mark: Mark, loc: Loc) -> None:
        self.work.max_depth = max(self.work.max_depth, depth)
        if depth > self.limits.max_depth:
            raise YamlLoadError(
                f"nesting deeper than {self.limits.max_depth} levels; a config needs a few",
                "too_deep",
                mark,
                loc,
            )

    def _key(self, event: Event) -> None:
        top = self._stack[-1]
        mark = mark_of(event)
        assert isinstance(top.value, dict)
        if not isinstance(event, ScalarEvent):
            raise YamlLoadError(
                "a key must be a plain word, not a list, mapping or alias",
                "yaml_syntax",
                mark,
                top.loc,
            )
        plain = event.implicit[0] and event.tag is None
        if event.tag == MERGE_TAG or (plain and event.value == "<<"):
            self._merge_key(top, mark)
            return
        # Keys are kept as written (`1: x` has the key "1"); only a tag is checked.
        value = scalar_value(event.value, event.tag or "!", False, mark)
        key = value if isinstance(value, str) else str(event.value)
        if key in top.key_marks:
            raise YamlLoadError(
                f"duplicate key `{key}` (first written on line {top.key_marks[key].line}); keep one of them",
                "duplicate_key",
                mark,
                (*top.loc, key),
            )
        top.key_marks[key] = mark
        top.key = key
        if top.merge_source:
            self.positions.keys.setdefault((*top.loc, key), mark)
        else:  # written here, so not the merged value of an anchor any more
            self.positions.keys[(*top.loc, key)] = mark
            self.positions.aliases.pop((*top.loc, key), None)

    def _merge_key(self, top: _Frame, mark: Mark) -> None:
        if top.merge_mark is not None:
            raise YamlLoadError(
                f"duplicate merge key `<<` (first written on line {top.merge_mark.line}); "
                "merge several mappings with one `<<: [*a, *b]`",
                "duplicate_key",
                mark,
                (*top.loc, "<<"),
            )
        top.merge_mark = mark
        top.key = _MERGE
        self.work.merges += 1

    def _scalar(self, event: ScalarEvent) -> None:
        mark = mark_of(event)
        loc = self._child_loc()
        self._count(1, 0, mark, loc)
        self._check_depth(len(self._stack), mark, loc)
        value = scalar_value(event.value, event.tag, bool(event.implicit[0]), mark)
        self.positions.values.setdefault(loc, mark)
        if event.anchor is not None:
            self._anchors[event.anchor] = _Anchored(value, 1, 0, mark)
        self._attach(value, 1, 0, mark)

    def _alias(self, event: AliasEvent) -> None:
        mark = mark_of(event)
        loc = self._child_loc()
        name = str(event.anchor)
        if name not in self._anchors:
            raise YamlLoadError(f"the alias `*{name}` names no anchor `&{name}` above it", "yaml_syntax", mark, loc)
        anchored = self._anchors[name]
        if anchored is None:
            raise YamlLoadError(
                f"the alias `*{name}` is inside the value anchored as `&{name}`, so that value would "
                "contain itself; move the alias out of it",
                "alias_cycle",
                mark,
                loc,
            )
        self.work.aliases += 1
        self._count(0, anchored.size, mark, loc, anchor=name)
        self._check_depth(len(self._stack) + anchored.height, mark, loc)
        self.positions.values.setdefault(loc, mark)
        if self._stack and self._stack[-1].key is not _MERGE:
            self.positions.aliases.setdefault(loc, AliasUse(name, anchored.mark))
        self._attach(_copy(anchored.value), anchored.size, anchored.height, mark, alias=AliasUse(name, anchored.mark))

    def _open(self, event: CollectionStartEvent) -> None:
        mark = mark_of(event)
        loc = self._child_loc()
        kind = "map" if isinstance(event, MappingStartEvent) else "seq"
        self._count(1, 0, mark, loc)
        self._check_depth(len(self._stack), mark, loc)
        check_collection_tag(event.tag, kind, mark)
        merge_source = bool(self._stack) and self._stack[-1].key is _MERGE
        if not merge_source:
            self.positions.values.setdefault(loc, mark)
        if event.anchor is not None:
            self._anchors[event.anchor] = None
        value: dict[str, Any] | list[Any] = {} if isinstance(event, MappingStartEvent) else []
        self._stack.append(_Frame(loc, value, event.anchor, mark, merge_source=merge_source))

    def _close(self) -> None:
        frame = self._stack.pop()
        value = frame.value
        if isinstance(value, dict) and frame.merged:
            value = {**{k: v for k, v in frame.merged.items() if k not in value}, **value}
        if frame.anchor is not None:
            self._anchors[frame.anchor] = _Anchored(value, frame.size, frame.height, frame.mark)
        self._attach(value, frame.size, frame.height, frame.mark)

    def _attach(self, value: Any, size: int, height: int, mark: Mark, alias: AliasUse | None = None) -> None:
        """Put a finished value into the collection being built (or make it the result)."""
        if not self._stack:
            self.result = value
            return
        top = self._stack[-1]
        top.size += size
        top.height = max(top.height, height + 1)
        if isinstance(top.value, list):
            if top.merge_source:  # one of `<<: [*a, *b]`
                self._require_mapping(value, mark)
                self._note_merged(self._stack[-2], value, mark, alias)
            top.value.append(value)
        elif top.key is _MERGE:
            self._merge_value(top, value, mark, alias)
            top.key = None
        else:
            top.value[str(top.key)] = value
            top.key = None

    @staticmethod
    def _require_mapping(value: Any, mark: Mark) -> None:
        if not isinstance(value, dict):
            raise YamlLoadError(
                "`<<` merges mappings only: write `<<: *name` or `<<: [*a, *b]` with anchored mappings",
                "yaml_syntax",
                mark,
            )

    def _merge_value(self, top: _Frame, value: Any, mark: Mark, alias: AliasUse | None) -> None:
        sources = value if isinstance(value, list) else [value]
        if not isinstance(value, list):
            self._require_mapping(value, mark)
            self._note_merged(top, value, mark, alias)
        for source in sources:
            for key, item in source.items():  # earlier sources win, as in YAML's merge key
                top.merged.setdefault(key, item)

    def _note_merged(self, target: _Frame, source: dict[str, Any], mark: Mark, alias: AliasUse | None) -> None:
        """Point the keys an anchor merges into `target` at the alias that merged them."""
        if alias is None:
            return
        for key in source:
            if key not in target.key_marks:
                self.positions.keys.setdefault((*target.loc, key), mark)
                self.positions.aliases.setdefault((*target.loc, key), alias)
