"""The JSON Schema of a gkd config, as editors and `gkd schema` see it.

The models are the single source: pydantic generates a 2020-12 schema, the
presentation pass adds titles and hover text, and the draft-7 pass makes it
readable by yaml-language-server and JetBrains IDEs. The same text is committed
under `schemas/` and shipped inside the package, so a modeline written by
`gkd init` resolves on any machine where gkd is installed.
"""

from __future__ import annotations

import json
from enum import StrEnum
from importlib import resources
from pathlib import Path

from pydantic import BaseModel

from gkd_schema.artifacts.json_schema_draft7 import to_draft7
from gkd_schema.artifacts.json_schema_walk import JsonSchema, map_schema
from gkd_schema.artifacts.schema_presentation import EditorJsonSchema, humanize, present
from gkd_schema.models import GkdParams, RunConfig


class SchemaBlock(StrEnum):
    """Which part of a config a schema describes."""

    CONFIG = "config"
    """The whole-run config file."""
    GKD = "gkd"
    """The GKD parameter block alone (teacher optional), for embedding elsewhere."""


_MODELS: dict[SchemaBlock, type[BaseModel]] = {
    SchemaBlock.CONFIG: RunConfig,
    SchemaBlock.GKD: GkdParams,
}
SCHEMA_FILE_NAMES: dict[SchemaBlock, str] = {
    SchemaBlock.CONFIG: "gkd-config.schema.json",
    SchemaBlock.GKD: "gkd-params.schema.json",
}
# Reading order of keywords in the committed file: what a node is, then what it
# allows, then its children. Unlisted keywords follow, alphabetically.
_KEY_ORDER = (
    "$schema", "$ref", "title", "description", "markdownDescription", "type", "enum", "const",
    "default", "examples", "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum",
    "minLength", "pattern", "patternErrorMessage", "errorMessage", "items", "properties",
    "required", "additionalProperties", "allOf", "anyOf", "oneOf", "if", "then", "else",
    "definitions",
)
# Appended to the root model's own docstring: what a reader of the schema file needs.
_ROOT_NOTES: dict[SchemaBlock, str] = {
    SchemaBlock.CONFIG: (
        "`gkd validate` checks everything this schema checks, plus the rules listed in "
        "docs/editors.md (cross-field rules, finite numbers, the environment)."
    ),
    SchemaBlock.GKD: "Names, defaults and ranges follow TRL's GKDConfig.",
}


def build_schema(block: SchemaBlock = SchemaBlock.CONFIG) -> JsonSchema:
    """The draft-7 JSON Schema of `block`, generated from the models.

    Args:
        block: The whole-run config or the GKD block alone.

    Returns:
        The schema document, ready to serialize.
    """
    model = _MODELS[block]
    generated = model.model_json_schema(schema_generator=EditorJsonSchema, mode="validation")
    schema = to_draft7(present(generated))
    if schema.get("title") == model.__name__:
        schema["title"] = humanize(model.__name__)
    description = f"{model.__doc__.strip() if model.__doc__ else ''} {_ROOT_NOTES[block]}".strip()
    schema["description"] = schema["markdownDescription"] = description
    ordered: JsonSchema = map_schema(schema, _in_reading_order)
    return ordered


def render_schema(block: SchemaBlock = SchemaBlock.CONFIG) -> str:
    """The schema of `block` as the exact text committed and shipped (2-space JSON)."""
    return json.dumps(build_schema(block), indent=2, ensure_ascii=False) + "\n"


def _in_reading_order(node: JsonSchema) -> JsonSchema:
    rank = {key: index for index, key in enumerate(_KEY_ORDER)}
    return dict(sorted(node.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))


def packaged_schema_path(block: SchemaBlock = SchemaBlock.CONFIG) -> Path:
    """Where the installed package keeps the schema of `block`.

    Returns:
        A filesystem path inside the installed `gkd_schema` package.

    Raises:
        FileNotFoundError: the package is installed without its schema files
            (or inside a zip archive, where editors cannot read it).
    """
    resource = resources.files("gkd_schema") / "schemas" / SCHEMA_FILE_NAMES[block]
    path = Path(str(resource))
    if not path.is_file():
        raise FileNotFoundError(
            f"the gkd package has no {SCHEMA_FILE_NAMES[block]} at {path}; reinstall gkd"
        )
    return path


def source_checkout_root() -> Path | None:
    """The gkd repository this package runs from, or None for a regular install.

    An editable install imports `gkd_schema` straight from the repository, whose
    root holds `pyproject.toml` and the committed `schemas/`.
    """
    root = Path(str(resources.files("gkd_schema"))).resolve().parent
    committed = root / "schemas" / SCHEMA_FILE_NAMES[SchemaBlock.CONFIG]
    if (root / "pyproject.toml").is_file() and committed.is_file():
        return root
    return None
