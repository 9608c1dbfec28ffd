"""Safe YAML 1.2 loading that remembers where every key and value was written.

The file is composed into ruamel.yaml nodes (nothing is constructed by ruamel, so
no tag can run code) and converted here into plain Python values, with:
YAML 1.2 scalars (`1e-5` is a float, `yes` is a string), duplicate keys refused at
the duplicate, only the standard tags, merge keys (`<<`), and bounds on nesting
and on alias expansion so an alias bomb fails fast.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gkd_schema.config.diagnostics import Loc

MAX_DEPTH = 64
MAX_NODES = 100_000

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {"str", "int", "float", "bool", "null", "timestamp"}


@dataclass(frozen=True)
class Mark:
    """A 1-based line and column in the source text."""

    line: int
    column: int


@dataclass
class PositionMap:
    """Where each key path was written: the key itself and its value."""

    keys: dict[Loc, Mark] = field(default_factory=dict)
    values: dict[Loc, Mark] = field(default_factory=dict)

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


class YamlLoadError(Exception):
    """The text is not a YAML document gkd can read; carries the position."""

    def __init__(self, message: str, kind: str, mark: Mark | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.mark = mark


def decode_config_bytes(data: bytes) -> str:
    """Decode a config file as UTF-8 (a BOM is fine).

    Raises:
        YamlLoadError: the bytes are not UTF-8, with the line of the first bad byte.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise YamlLoadError(
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8",
            "encoding_error",
            Mark(line, column),
        ) from None


def _mark(node: Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _scalar(node: ScalarNode) -> Any:
    """Convert a scalar by its YAML 1.2 core-schema tag."""
    tag = str(node.tag)
    kind = tag[len(_TAG) :] if tag.startswith(_TAG) else tag
    text: str = node.value
    if kind in ("str", "timestamp"):  # YAML 1.2 has no timestamps: keep the text
        return text
    if kind == "null":
        return None
    if kind == "bool":
        return text.lower() == "true"
    if kind == "int":
        clean = text.replace("_", "")
        try:
            return int(clean, 0)
        except ValueError:
            return int(clean, 10)  # leading zeros: YAML 1.2 decimal
    if kind == "float":
        lowered = text.lower().replace("_", "")
        if lowered.endswith((".inf", ".nan")):
            value = math.nan if lowered.endswith("nan") else math.inf
            return -value if lowered.startswith("-") else value
        return float(lowered)
    raise YamlLoadError(
        f"the tag `{node.tag}` is not allowed; write plain values",
        "unsafe_tag",
        _mark(node),
    )


class _Converter:
    """Turns a node tree into plain values, recording positions and bounds."""

    def __init__(self, max_depth: int, max_nodes: int) -> None:
        self.positions = PositionMap()
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.seen = 0

    def convert(self, node: Node, loc: Loc, depth: int) -> Any:
        self.seen += 1
        if self.seen > self.max_nodes:
            raise YamlLoadError(
                f"the document expands to more than {self.max_nodes} values "
                "(too many aliases?); write the values out",
                "too_large",
                _mark(node),
            )
        if depth > self.max_depth:
            raise YamlLoadError(
                f"nesting deeper than {self.max_depth} levels", "too_deep", _mark(node)
            )
        self.positions.values.setdefault(loc, _mark(node))
        if isinstance(node, ScalarNode):
            return _scalar(node)
        if isinstance(node, SequenceNode):
            self._check_tag(node, "seq")
            return [self.convert(item, (*loc, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            self._check_tag(node, "map")
            return self._mapping(node, loc, depth)
        raise YamlLoadError("unsupported YAML node", "yaml_syntax", _mark(node))

    @staticmethod
    def _check_tag(node: Node, expected: str) -> None:
        if node.tag != _TAG + expected:
            raise YamlLoadError(
                f"the tag `{node.tag}` is not allowed; write plain values",
                "unsafe_tag",
                _mark(node),
            )

    def _mapping(self, node: MappingNode, loc: Loc, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merged.update(self._merge_sources(value_node, loc, depth))
                continue
            key = self._key(key_node)
            if key in result:
                first = self.positions.keys[(*loc, key)]
                raise YamlLoadError(
                    f"duplicate key `{key}` (first written on line {first.line}); "
                    "keep one of them",
                    "duplicate_key",
                    _mark(key_node),
                )
            self.positions.keys[(*loc, key)] = _mark(key_node)
            result[key] = self.convert(value_node, (*loc, key), depth + 1)
        return {**merged, **result}

    @staticmethod
    def _key(node: Node) -> str:
        """Keys are scalars, kept as written (`1: x` has the key "1")."""
        if not isinstance(node, ScalarNode):
            raise YamlLoadError(
                "a key must be a plain word, not a list or mapping", "yaml_syntax", _mark(node)
            )
        value = _scalar(node)
        return value if isinstance(value, str) else str(node.value)

    def _merge_sources(self, node: Node, loc: Loc, depth: int) -> dict[str, Any]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in reversed(sources):  # earlier sources win, as in YAML 1.1 merge
            if not isinstance(source, MappingNode):
                raise YamlLoadError(
                    "`<<` merges mappings only", "yaml_syntax", _mark(source)
                )
            merged.update(self._mapping(source, loc, depth + 1))
        return merged


def load_yaml(
    text: str, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES
) -> tuple[Any, PositionMap]:
    """Parse one YAML 1.2 document into plain values and their positions.

    Args:
        text: The document.
        max_depth: Deepest nesting accepted.
        max_nodes: Most values accepted after alias expansion.

    Returns:
        The value (None for an empty document) and the positions of its keys.

    Raises:
        YamlLoadError: syntax errors, unsafe tags, duplicate keys, bounds exceeded.
    """
    yaml = YAML(typ="safe", pure=True)
    yaml.version = (1, 2)
    try:
        root = yaml.compose(io.StringIO(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = Mark(mark.line + 1, mark.column + 1) if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlLoadError(f"invalid YAML: {problem}", "yaml_syntax", position) from None
    except YAMLError as exc:
        raise YamlLoadError(f"invalid YAML: {exc}", "yaml_syntax") from None
    if root is None:
        return None, PositionMap()
    converter = _Converter(max_depth, max_nodes)
    value = converter.convert(root, (), 0)
    return value, converter.positions
