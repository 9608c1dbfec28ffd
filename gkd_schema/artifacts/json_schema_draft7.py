"""Rewrite a JSON Schema 2020-12 document (what pydantic emits) as draft 7.

Red Hat's yaml-language-server documents draft 7, and JetBrains IDEs lag behind
on 2020-12, so the exported schema speaks draft 7. Every 2020-12 construct either
has a draft-7 spelling here or makes the conversion fail loudly: a keyword a
draft-7 consumer silently ignores would be a rule that editors never check.
"""

from __future__ import annotations

from typing import Any

from gkd_schema.artifacts.json_schema_walk import JsonSchema, map_schema

DRAFT7_DIALECT = "http://json-schema.org/draft-07/schema#"

# 2019-09/2020-12 keywords with no draft-7 equivalent.
_UNSUPPORTED = frozenset(
    {
        "unevaluatedProperties",
        "unevaluatedItems",
        "$dynamicRef",
        "$dynamicAnchor",
        "$recursiveRef",
        "$recursiveAnchor",
        "$anchor",
        "$vocabulary",
        "minContains",
        "maxContains",
    }
)
_DEFS_PREFIX = "#/$defs/"
_DEFINITIONS_PREFIX = "#/definitions/"


class Draft7ConversionError(ValueError):
    """The schema uses a 2020-12 keyword that draft 7 cannot express."""


def to_draft7(schema: JsonSchema) -> JsonSchema:
    """Convert a 2020-12 schema document to draft 7.

    Renames `$defs` to `definitions` (and the `$ref`s into them), turns
    `prefixItems` into array-form `items`, `dependentRequired`/`dependentSchemas`
    into `dependencies`, and wraps a `$ref` that has sibling keywords in `allOf`
    (draft 7 ignores everything next to a `$ref`, descriptions included).

    Args:
        schema: A schema document as `pydantic` generates it.

    Returns:
        A new document whose `$schema` is draft 7.

    Raises:
        Draft7ConversionError: a keyword without a draft-7 equivalent is present.
    """
    converted = map_schema(schema, _convert_node)
    return {"$schema": DRAFT7_DIALECT, **{k: v for k, v in converted.items() if k != "$schema"}}


def _convert_node(node: JsonSchema) -> JsonSchema:
    unsupported = _UNSUPPORTED.intersection(node)
    if unsupported:
        raise Draft7ConversionError(
            f"draft 7 has no equivalent of {', '.join(sorted(unsupported))}; "
            "change the model or extend the conversion"
        )
    if "$defs" in node:
        node["definitions"] = {**node.get("definitions", {}), **node.pop("$defs")}
    if "prefixItems" in node:
        rest = node.pop("items", None)
        node["items"] = node.pop("prefixItems")
        if rest is not None:
            node["additionalItems"] = rest
    dependencies: dict[str, Any] = {}
    dependencies.update(node.pop("dependentRequired", {}))
    dependencies.update(node.pop("dependentSchemas", {}))
    if dependencies:
        node["dependencies"] = {**node.get("dependencies", {}), **dependencies}
    if "$ref" in node:
        ref = node.pop("$ref")
        if ref.startswith(_DEFS_PREFIX):
            ref = _DEFINITIONS_PREFIX + ref[len(_DEFS_PREFIX) :]
        if node:
            return {**node, "allOf": [{"$ref": ref}, *node.get("allOf", [])]}
        return {"$ref": ref}
    return node
