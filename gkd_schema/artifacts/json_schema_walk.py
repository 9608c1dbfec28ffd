"""Keyword-aware traversal of a JSON Schema document.

A schema nests subschemas under known keywords only; a property that happens to
be called `const` or `items` is data, not a keyword. Every transformation of the
exported schema goes through these two functions so none of them mistakes one
for the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

JsonSchema = dict[str, Any]

# Keywords whose value is one subschema.
_SINGLE = (
    "additionalProperties",
    "additionalItems",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
)
# Keywords whose value is a list of subschemas.
_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
# Keywords whose value maps names to subschemas.
_MAP = ("properties", "patternProperties", "definitions", "$defs", "dependentSchemas")


def iter_subschemas(schema: Any, pointer: str = "") -> Iterator[tuple[str, JsonSchema]]:
    """Every object schema in `schema`, itself included, with its JSON pointer.

    Args:
        schema: A JSON Schema (boolean subschemas are skipped: they hold no keywords).
        pointer: The JSON pointer of `schema` inside its document.

    Yields:
        `(pointer, subschema)` pairs, parents before children.
    """
    if not isinstance(schema, dict):
        return
    yield pointer, schema
    for _keyword, child_pointer, child in _children(schema, pointer):
        yield from iter_subschemas(child, child_pointer)


def map_schema(schema: Any, transform: Callable[[JsonSchema], JsonSchema]) -> Any:
    """A copy of `schema` with `transform` applied to every object subschema, bottom up.

    Args:
        schema: A JSON Schema; boolean subschemas are kept as they are.
        transform: Receives a subschema whose children are already transformed and
            returns its replacement (it may return the same dict, modified).

    Returns:
        The transformed schema.
    """
    if not isinstance(schema, dict):
        return schema
    result: JsonSchema = dict(schema)
    for key in _SINGLE:
        if key in result:
            result[key] = map_schema(result[key], transform)
    for key in _LIST:
        if isinstance(result.get(key), list):
            result[key] = [map_schema(item, transform) for item in result[key]]
    for key in _MAP:
        if isinstance(result.get(key), dict):
            result[key] = {name: map_schema(sub, transform) for name, sub in result[key].items()}
    if "items" in result:
        items = result["items"]
        result["items"] = (
            [map_schema(item, transform) for item in items]
            if isinstance(items, list)
            else map_schema(items, transform)
        )
    if isinstance(result.get("dependencies"), dict):
        # Draft 7 `dependencies` mixes subschemas and lists of property names.
        result["dependencies"] = {
            name: dep if isinstance(dep, list) else map_schema(dep, transform)
            for name, dep in result["dependencies"].items()
        }
    return transform(result)


def _children(schema: JsonSchema, pointer: str) -> Iterator[tuple[str, str, Any]]:
    """Direct subschemas of `schema` as `(keyword, pointer, subschema)`."""
    for key in _SINGLE:
        if key in schema:
            yield key, f"{pointer}/{key}", schema[key]
    for key in _LIST:
        for index, item in enumerate(schema.get(key) or ()):
            yield key, f"{pointer}/{key}/{index}", item
    for key in _MAP:
        for name, sub in (schema.get(key) or {}).items():
            yield key, f"{pointer}/{key}/{_escape(name)}", sub
    items = schema.get("items")
    if isinstance(items, list):
        for index, item in enumerate(items):
            yield "items", f"{pointer}/items/{index}", item
    elif items is not None:
        yield "items", f"{pointer}/items", items
    for name, dep in (schema.get("dependencies") or {}).items():
        if not isinstance(dep, list):
            yield "dependencies", f"{pointer}/dependencies/{_escape(name)}", dep


def _escape(name: str) -> str:
    """Escape a name for use as a JSON pointer token (RFC 6901)."""
    return name.replace("~", "~0").replace("/", "~1")
