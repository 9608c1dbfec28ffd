"""What the exported schema shows a person: titles, hover text, defaults, ranges.

Nothing here changes what the schema accepts. Field descriptions are written once,
on the models; this module only derives presentation from them (human titles
from field names, `markdownDescription` with the default and range appended) and
reshapes optional fields so editors complete and hover on them like any other.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, NoDefault
from pydantic_core import core_schema

from gkd_schema.artifacts.json_schema_walk import JsonSchema, map_schema

# Words of field and class names that read better spelled out or in capitals.
_WORDS = {
    "args": "arguments",
    "attn": "attention",
    "bf16": "bf16",
    "dir": "directory",
    "dtype": "dtype",
    "fp16": "fp16",
    "gkd": "GKD",
    "kd": "KD",
    "kwargs": "keyword arguments",
    "lmbda": "lambda",
    "lora": "LoRA",
    "lr": "LR",
    "num": "number of",
    "params": "parameters",
    "peft": "PEFT",
    "r": "rank",
    "seq": "sequence-level",
}
# Words kept in lower case even at the start of a title (they are identifiers).
_LOWER_CASE = frozenset({"bf16", "fp16", "dtype"})
# Keywords whose presence means a branch cannot be merged into its parent.
_COMPOSITE = ("$ref", "anyOf", "oneOf", "allOf", "not", "if", "properties", "items")


def humanize(name: str) -> str:
    """A sentence-case title for a field or class name.

    `seq_kd` becomes "Sequence-level KD", `GkdSection` "GKD section",
    `num_train_epochs` "Number of train epochs".
    """
    words = [w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)]
    if not words:
        return name
    spelled = [_WORDS.get(word, word) for word in words]
    first = spelled[0]
    if words[0] not in _LOWER_CASE:
        first = first[0].upper() + first[1:]
    return " ".join([first, *spelled[1:]])


class EditorJsonSchema(GenerateJsonSchema):
    """pydantic's generator with human titles and the defaults of default factories."""

    def get_title_from_name(self, name: str) -> str:
        """A sentence-case title instead of pydantic's `Title Case Of The Name`."""
        return humanize(name)

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        """Call argument-free default factories so `{"dtype": "auto"}`-style defaults show."""
        if "default" in schema:
            return schema["default"]
        factory: Callable[[], Any] | None = schema.get("default_factory")  # type: ignore[assignment]
        if factory is None or schema.get("default_factory_takes_data"):
            return NoDefault
        return factory()


def present(schema: JsonSchema) -> JsonSchema:
    """Add titles and hover text, and flatten optional fields, throughout `schema`.

    Args:
        schema: A schema document whose `$ref`s point into `$defs` or `definitions`.

    Returns:
        A new document that accepts exactly the same instances.
    """
    definitions = schema.get("$defs") or schema.get("definitions") or {}
    schema = map_schema(schema, lambda node: _name_properties(node, definitions))
    for name, definition in (schema.get("$defs") or schema.get("definitions") or {}).items():
        if definition.get("title") in (None, name):
            definition["title"] = humanize(name)
    described: JsonSchema = map_schema(schema, _describe)
    return described


def range_text(node: JsonSchema) -> str | None:
    """The numeric range of `node` in interval notation, e.g. `(0, 1]` or `≥ 1`."""
    low, low_open = _bound(node, "minimum", "exclusiveMinimum")
    high, high_open = _bound(node, "maximum", "exclusiveMaximum")
    if low is not None and high is not None:
        return f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '≥'} {low}"
    if high is not None:
        return f"{'<' if high_open else '≤'} {high}"
    return None


def default_text(value: Any) -> str:
    """A default as it would be written in YAML: strings bare, `null` for unset."""
    return value if isinstance(value, str) else json.dumps(value)


def _bound(node: JsonSchema, inclusive: str, exclusive: str) -> tuple[str | None, bool]:
    if exclusive in node:
        return _number(node[exclusive]), True
    if inclusive in node:
        return _number(node[inclusive]), False
    return None, False


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _name_properties(node: JsonSchema, definitions: dict[str, JsonSchema]) -> JsonSchema:
    """Give every property a title and a description, then flatten optional ones."""
    for name, prop in (node.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        target = _ref_target(prop, definitions)
        if target is not None and "description" not in prop and "description" in target:
            # pydantic drops a field description that repeats its model's docstring;
            # editors show the property's own description, so put it back.
            prop["description"] = target["description"]
        prop.setdefault("title", humanize(name))
        node["properties"][name] = _flatten_nullable(prop)
    return node


def _ref_target(prop: JsonSchema, definitions: dict[str, JsonSchema]) -> JsonSchema | None:
    ref = prop.get("$ref")
    if not isinstance(ref, str):
        return None
    return definitions.get(ref.rsplit("/", 1)[-1])


def _flatten_nullable(prop: JsonSchema) -> JsonSchema:
    """Turn `anyOf: [{type: T, ...}, {type: null}]` into `type: [T, null]`.

    The two forms accept the same instances (bounds, lengths and patterns ignore
    null), but editors report "Incorrect type. Expected string | null" instead of
    "Matches multiple schemas", and offer the enum values of an optional enum.
    """
    branches = prop.get("anyOf")
    if not isinstance(branches, list) or len(branches) != 2 or {"type": "null"} not in branches:
        return prop
    (other,) = [b for b in branches if b != {"type": "null"}]
    if not isinstance(other, dict) or not isinstance(other.get("type"), str):
        return prop
    if any(key in other for key in _COMPOSITE):
        return prop
    merged: JsonSchema = {k: v for k, v in prop.items() if k != "anyOf"}
    for key, value in other.items():
        merged.setdefault(key, value)
    merged["type"] = [other["type"], "null"]
    if "const" in merged:
        merged["enum"] = [merged.pop("const")]
    if "enum" in merged and None not in merged["enum"]:
        merged["enum"] = [*merged["enum"], None]
    return merged


def _describe(node: JsonSchema) -> JsonSchema:
    """Mirror the description as `markdownDescription`, with the default and range."""
    description = node.get("description")
    if not isinstance(description, str):
        return node
    facts = []
    if "default" in node:
        facts.append(f"Default: `{default_text(node['default'])}`")
    bounds = range_text(node)
    if bounds is not None:
        facts.append(f"Range: {bounds}")
    node["markdownDescription"] = description + ("\n\n" + " · ".join(facts) if facts else "")
    return node
