"""The committed schemas and reference are what the models produce, and say what they know."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from pydantic import BaseModel
from schema_oracles import REPO_ROOT

from gkd_schema.artifacts.drift import check_file
from gkd_schema.artifacts.generated import ARTIFACTS, write_artifacts
from gkd_schema.artifacts.json_schema_walk import iter_subschemas
from gkd_schema.artifacts.schema_export import SchemaBlock, build_schema
from gkd_schema.models import (
    DataSection,
    DatasetSource,
    GkdParams,
    GkdSection,
    ModelSection,
    PeftSection,
    RunConfig,
    TrainingSection,
)

NEWER_KEYWORDS = {
    "$defs", "prefixItems", "dependentRequired", "dependentSchemas", "unevaluatedProperties",
    "unevaluatedItems", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$anchor",
    "minContains", "maxContains",
}
SECTIONS: dict[str, type[BaseModel]] = {
    "RunConfig": RunConfig,
    "ModelSection": ModelSection,
    "GkdSection": GkdSection,
    "DataSection": DataSection,
    "DatasetSource": DatasetSource,
    "TrainingSection": TrainingSection,
    "PeftSection": PeftSection,
}


def _definition(name: str) -> dict[str, Any]:
    schema = build_schema(SchemaBlock.CONFIG)
    return schema if name == "RunConfig" else schema["definitions"][name]


@pytest.mark.parametrize("artifact", ARTIFACTS, ids=lambda a: a.path)
def test_committed_artifact_matches_the_models(artifact: Any) -> None:
    report = check_file(REPO_ROOT / artifact.path, artifact.render())
    assert not report.drifted, (
        f"{artifact.path} is stale: " + "; ".join(report.summary(8))
        + ". Regenerate with: python -m gkd_schema.artifacts"
    )


def test_packaged_and_repository_schemas_are_identical() -> None:
    for name in ("gkd-config.schema.json", "gkd-params.schema.json"):
        repo = (REPO_ROOT / "schemas" / name).read_bytes()
        assert repo == (REPO_ROOT / "gkd_schema" / "schemas" / name).read_bytes()


def test_write_artifacts_regenerates_every_file(tmp_path: Path) -> None:
    written = write_artifacts(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [a.path for a in ARTIFACTS]
    assert (tmp_path / "schemas" / "gkd-config.schema.json").read_text() == ARTIFACTS[0].render()


@pytest.mark.parametrize("block", list(SchemaBlock))
def test_schema_is_draft_7_and_nothing_newer(block: SchemaBlock) -> None:
    schema = build_schema(block)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    Draft7Validator.check_schema(schema)
    for pointer, node in iter_subschemas(schema):
        assert not NEWER_KEYWORDS & node.keys(), pointer
        if "$ref" in node:
            # Draft 7 ignores a `$ref`'s siblings, descriptions included.
            assert node.keys() == {"$ref"}, pointer
            assert node["$ref"].removeprefix("#/definitions/") in schema["definitions"]


@pytest.mark.parametrize("block", list(SchemaBlock))
def test_every_property_has_title_description_and_markdown(block: SchemaBlock) -> None:
    for pointer, node in iter_subschemas(build_schema(block)):
        if "/oneOf/" in pointer or "/allOf/" in pointer:
            continue  # conditional rules restate properties; they document nothing
        for name, prop in (node.get("properties") or {}).items():
            if prop is False:
                continue  # a refused key (`torch_dtype`)
            where = f"{pointer}/properties/{name}"
            assert prop.get("title") or pointer.endswith("teacher_model_init_kwargs"), where
            assert prop.get("description"), where
            assert prop["markdownDescription"].startswith(prop["description"]), where


@pytest.mark.parametrize("name", list(SECTIONS))
def test_schema_carries_each_field_description_default_and_requiredness(name: str) -> None:
    model, node = SECTIONS[name], _definition(name)
    assert node["additionalProperties"] is False
    assert list(node["properties"]) == list(model.model_fields)
    required = {k for k, f in model.model_fields.items() if f.is_required()}
    assert set(node.get("required", [])) == required
    for key, field in model.model_fields.items():
        prop = node["properties"][key]
        assert prop["description"] == field.description, key
        if not field.is_required():
            default = field.get_default(call_default_factory=True)
            expected = default.model_dump() if isinstance(default, BaseModel) else default
            assert prop["default"] == expected, key


def test_gkd_ranges_are_exact() -> None:
    props = _definition("GkdSection")["properties"]
    assert props["temperature"]["exclusiveMinimum"] == 0 and props["temperature"]["maximum"] == 1
    assert "minimum" not in props["temperature"]
    for key in ("lmbda", "beta"):
        assert (props[key]["minimum"], props[key]["maximum"]) == (0, 1)
    assert props["max_new_tokens"] == props["max_new_tokens"] | {
        "type": "integer", "exclusiveMinimum": 0, "default": 128
    }
    assert "Range: (0, 1]" in props["temperature"]["markdownDescription"]


def test_gkd_block_schema_has_an_optional_teacher() -> None:
    schema = build_schema(SchemaBlock.GKD)
    assert "required" not in schema and schema["additionalProperties"] is False
    assert schema["properties"]["teacher_model_name_or_path"]["type"] == ["string", "null"]
    assert list(schema["properties"]) == list(GkdParams.model_fields)


def test_optional_fields_keep_their_docs_on_the_property() -> None:
    """yaml-language-server hovers on the property; `anyOf` branches hide their docs."""
    props = _definition("ModelSection")["properties"]
    tokenizer = props["tokenizer_name_or_path"]
    assert "anyOf" not in tokenizer and tokenizer["type"] == ["string", "null"]
    assert tokenizer["examples"] and tokenizer["pattern"] and tokenizer["description"]


def test_schema_file_is_stable_json() -> None:
    text = (REPO_ROOT / "schemas" / "gkd-config.schema.json").read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def test_editors_doc_lists_every_rule_only_gkd_validate_checks() -> None:
    """Each finding type of the cross-field rules is named in docs/editors.md."""
    tree = ast.parse((REPO_ROOT / "gkd_schema" / "models" / "rules.py").read_text())
    types: set[str] = {
        call.args[2].value
        for call in ast.walk(tree)
        if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "Finding"
        and len(call.args) >= 3 and isinstance(call.args[2], ast.Constant)
        and isinstance(call.args[2].value, str)
    }
    assert types, "no Finding(...) calls found in rules.py"
    doc = (REPO_ROOT / "docs" / "editors.md").read_text(encoding="utf-8")
    assert {t for t in types if f"`{t}`" not in doc} == set()


def test_pre_commit_hook_runs_gkd_validate() -> None:
    from ruamel.yaml import YAML

    hooks = YAML(typ="safe").load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "gkd-validate")
    assert hook["entry"] == "gkd validate" and hook["language"] == "python"
    assert hook["types"] == ["yaml"]
