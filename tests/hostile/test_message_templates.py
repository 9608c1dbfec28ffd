"""No message shows a raw template: every `PydanticCustomError` template renders with its context."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest
from pydantic_core import PydanticCustomError

PACKAGE = Path(__file__).resolve().parent.parent.parent / "gkd_schema"


def _templates() -> list[tuple[str, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "PydanticCustomError":
                template = node.args[1] if len(node.args) > 1 else None
                if isinstance(template, ast.Constant) and isinstance(template.value, str):
                    found.append((f"{path.relative_to(PACKAGE)}:{node.lineno}", template.value))
    return found


TEMPLATES = _templates()


def test_the_templates_are_found() -> None:
    assert len(TEMPLATES) >= 10


@pytest.mark.parametrize(("where", "template"), TEMPLATES, ids=[w for w, _ in TEMPLATES])
def test_every_template_renders_with_sample_context(where: str, template: str) -> None:
    parts = list(string.Formatter().parse(template))
    fields = {name for _, name, _, _ in parts if name is not None}
    for _, _, spec, conversion in parts:
        assert not spec and not conversion, f"{where}: pydantic does not apply `!r`/`:spec` in {template!r}"
    message = PydanticCustomError("kind", template, {name: "SAMPLE" for name in fields}).message()
    assert "{" not in message and "}" not in message, (where, message)
