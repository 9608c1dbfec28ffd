"""Write a conversion plan as a commented gkd config.

Each key that was renamed carries its source key as a trailing comment; the keys with
no gkd equivalent follow as a comment block, each with its value and the reason, so
nothing from the source is dropped without a word.
"""

from __future__ import annotations

import textwrap
from typing import Any

from gkd_schema.artifacts.starter_config import MODELINE_PREFIX, yaml_scalar
from gkd_schema.config.diagnostics import Loc
from gkd_schema.convert.plan import TOOL_NAMES, ConversionPlan, Entry

_SECTION_ORDER = ("model", "gkd", "teacher", "data", "training", "peft")
_WIDTH = 88


def yaml_flow(value: Any) -> str:
    """`value` as one line of YAML: a scalar, or a flow list / mapping of them."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{yaml_scalar(str(k))}: {yaml_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(yaml_flow(v) for v in value) + "]"
    return yaml_scalar(value)


def _tree(entries: dict[Loc, Entry]) -> dict[str, Any]:
    """The entries nested by key path, sections in gkd's order, keys in plan order."""
    tree: dict[str, Any] = {}
    ranked = sorted(entries.items(), key=lambda item: _SECTION_ORDER.index(str(item[0][0])))
    for loc, entry in ranked:
        node = tree
        for part in loc[:-1]:
            node = node.setdefault(str(part), {})
        node[str(loc[-1])] = entry
    return tree


def _lines(node: dict[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    for key, child in node.items():
        if isinstance(child, dict):
            out.append(f"{pad}{key}:")
            out.extend(_lines(child, indent + 2))
            continue
        if child.note:
            out.extend(_wrapped(child.note, pad + "# "))
        source = f"  # {child.source}" if child.source else ""
        out.append(f"{pad}{key}: {yaml_flow(child.value)}{source}")
    return out


def _wrapped(text: str, prefix: str) -> list[str]:
    return textwrap.wrap(
        text, _WIDTH, initial_indent=prefix, subsequent_indent=prefix, break_long_words=False, break_on_hyphens=False
    )


def render_plan(plan: ConversionPlan, source_name: str, schema_ref: str) -> str:
    """The gkd config text of `plan`.

    Args:
        plan: What the conversion decided.
        source_name: The source file as the user named it, for the header.
        schema_ref: What the yaml-language-server modeline points at.

    Returns:
        YAML text: the modeline, a header, the sections, then the unconverted keys.
    """
    tool = TOOL_NAMES[plan.tool]
    lines = [
        f"{MODELINE_PREFIX}{schema_ref}",
        f"# Converted by `gkd convert --from {plan.tool}` from {source_name}. Check it with `gkd validate`.",
        f"# A comment after a key names the {tool} key it came from where the name differs;",
        f"# {tool} keys with no gkd equivalent are listed at the end with the reason.",
    ]
    tree = _tree(plan.entries)
    for section, node in tree.items():
        lines.append("")
        lines.append(f"{section}:")
        lines.extend(_lines(node, 2))
    if plan.unconverted:
        lines.append("")
        lines.append(f"# Not converted: these {tool} keys have no gkd equivalent (values as written).")
        for item in plan.unconverted:
            lines.append(f"# - {item.key}: {yaml_flow(item.value)}")
            lines.extend(_wrapped(item.reason, "#     "))
    return "\n".join(lines) + "\n"
