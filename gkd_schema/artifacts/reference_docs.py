"""`docs/reference.md`: every config key, its type, default, allowed values and meaning.

Rendered from the exported JSON Schema, which is rendered from the models, so
the reference, the editor hover and `gkd validate` cannot disagree. A test
regenerates it and fails on any difference from the committed file.
"""

from __future__ import annotations

from typing import Any

from gkd_schema.artifacts.json_schema_walk import JsonSchema, iter_subschemas
from gkd_schema.artifacts.schema_export import SchemaBlock, build_schema
from gkd_schema.artifacts.schema_presentation import default_text, range_text

_HEADER = """\
# Config reference

<!-- Generated from the models by `gkd schema --format markdown`; do not edit by hand.
     Regenerate everything with `python -m gkd_schema.artifacts`. -->

{description}

Editors get the same facts while you type (see [editors.md](editors.md)). The schema
is not the whole truth: the rules only `gkd validate` checks are listed in
[editors.md](editors.md#what-only-gkd-validate-checks).
"""
_TABLE_HEAD = (
    "| Key | Type | Default | Allowed values | Description |\n"
    "| --- | --- | --- | --- | --- |"
)


def render_reference(block: SchemaBlock = SchemaBlock.CONFIG) -> str:
    """The Markdown config reference for `block`.

    Args:
        block: The whole-run config or the GKD block alone.

    Returns:
        The document text, ending with a newline.
    """
    schema = build_schema(block)
    definitions: dict[str, JsonSchema] = schema.get("definitions", {})
    sections = _sections(schema, definitions)
    parts = [_HEADER.format(description=schema["description"])]
    for paths, node in sections:
        title = "Top level" if paths == [""] else ", ".join(f"`{p}`" for p in paths)
        parts.append(f"## {title}\n")
        if paths != [""] and node.get("description"):
            parts.append(f"{node['description']}\n")
        parts.append(_table(node, definitions))
        rules = _section_rules(node)
        if rules:
            parts.append("Also checked in this section:\n")
            parts.append("\n".join(f"- {rule}" for rule in rules) + "\n")
    return "\n".join(parts)


def _sections(
    schema: JsonSchema, definitions: dict[str, JsonSchema]
) -> list[tuple[list[str], JsonSchema]]:
    """Every closed mapping reachable from the root, with the key paths that reach it."""
    found: dict[int, tuple[list[str], JsonSchema]] = {id(schema): ([""], schema)}
    queue: list[tuple[str, JsonSchema]] = [("", schema)]
    while queue:
        prefix, node = queue.pop(0)
        for name, prop in (node.get("properties") or {}).items():
            target = _section_target(prop, definitions)
            if target is None:
                continue
            path = f"{prefix}.{name}" if prefix else name
            if id(target) in found:
                found[id(target)][0].append(path)
            else:
                found[id(target)] = ([path], target)
                queue.append((path, target))
    return list(found.values())


def _section_target(prop: Any, definitions: dict[str, JsonSchema]) -> JsonSchema | None:
    """The definition a property refers to, if it is a closed mapping (a section)."""
    if not isinstance(prop, dict):
        return None
    for branch in [prop, *prop.get("allOf", []), *prop.get("anyOf", [])]:
        ref = branch.get("$ref") if isinstance(branch, dict) else None
        if isinstance(ref, str):
            target = definitions.get(ref.rsplit("/", 1)[-1])
            if target is not None and target.get("additionalProperties") is False:
                return target
    return None


def _table(node: JsonSchema, definitions: dict[str, JsonSchema]) -> str:
    required = set(node.get("required", []))
    rows = [_TABLE_HEAD]
    for name, prop in (node.get("properties") or {}).items():
        is_section = _section_target(prop, definitions) is not None
        default = (
            "required"
            if name in required
            else f"`{default_text(prop['default'])}`"
            if "default" in prop
            else ""
        )
        cells = [
            f"`{name}`",
            "mapping (below)" if is_section else _type_text(prop),
            default,
            "" if is_section else _allowed_text(prop),
            str(prop.get("description", "")),
        ]
        rows.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(rows) + "\n"


def _type_text(node: Any) -> str:
    if not isinstance(node, dict):
        return "any" if node is True else "never"
    if "anyOf" in node:
        return " or ".join(dict.fromkeys(_type_text(branch) for branch in node["anyOf"]))
    kinds = node.get("type")
    if kinds is None and "enum" in node:
        kinds = sorted({_json_type(value) for value in node["enum"]})
    names = [kinds] if isinstance(kinds, str) else list(kinds or ["any"])
    words = []
    for kind in names:
        if kind == "array":
            words.append(f"list of {_type_text(node.get('items', True))}")
        elif kind == "object":
            words.append("mapping")
        else:
            words.append(kind)
    return " or ".join(words)


def _allowed_text(node: Any) -> str:
    if not isinstance(node, dict):
        return ""
    if "anyOf" in node:
        return "; or ".join(text for b in node["anyOf"] if (text := _allowed_text(b)))
    facts = []
    if "enum" in node:
        facts.append(", ".join(f"`{default_text(v)}`" for v in node["enum"] if v is not None))
    if "const" in node:
        facts.append(f"`{default_text(node['const'])}`")
    bounds = range_text(node)
    if bounds is not None:
        facts.append(bounds)
    if "pattern" in node:
        # Long patterns (repo ids) read worse than the description that explains them.
        pattern = node["pattern"]
        facts.append(f"matches `{pattern}`" if len(pattern) <= 40 else "see description")
    elif node.get("minLength") == 1:
        facts.append("non-empty")
    items = node.get("items")
    if isinstance(items, dict) and (inner := _allowed_text(items)):
        facts.append(f"each: {inner}")
    known = node.get("properties") or {}
    if known:
        allowed = [f"`{k}`: {_allowed_text(v)}" for k, v in known.items() if v is not False]
        refused = [f"`{k}`" for k, v in known.items() if v is False]
        facts.extend(allowed)
        if refused:
            facts.append("not " + ", ".join(refused))
    return "; ".join(fact for fact in facts if fact)


def _section_rules(node: JsonSchema) -> list[str]:
    """The messages of the section's conditional rules (`if`/`then`, `oneOf`)."""
    messages: dict[str, None] = {}
    for keyword in ("allOf", "oneOf", "anyOf"):
        for branch in node.get(keyword, []):
            for _pointer, sub in iter_subschemas(branch):
                message = sub.get("errorMessage")
                if isinstance(message, str):
                    messages.setdefault(message[0].upper() + message[1:], None)
    return list(messages)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return "number" if isinstance(value, float) else "string"


def _cell(text: str) -> str:
    """Table-safe text: pipes escaped, line breaks as spaces."""
    return " ".join(text.split()).replace("|", "\\|")
