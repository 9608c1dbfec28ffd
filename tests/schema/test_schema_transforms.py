"""The draft-7 conversion, the presentation pass and the drift summary, on small inputs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from gkd_schema.artifacts.drift import check_file
from gkd_schema.artifacts.json_schema_draft7 import Draft7ConversionError, to_draft7
from gkd_schema.artifacts.json_schema_walk import iter_subschemas
from gkd_schema.artifacts.schema_presentation import default_text, humanize, present, range_text

SOURCE_2020 = {
    "$defs": {"Item": {"type": "object", "description": "An item."}},
    "type": "object",
    "properties": {
        "item": {"$ref": "#/$defs/Item", "description": "The item."},
        "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}],
                 "items": False},
        "const": {"const": 1},  # a property named like a keyword is data, not a keyword
    },
    "dependentRequired": {"a": ["b"]},
}


def test_to_draft7_rewrites_every_2020_construct() -> None:
    converted = to_draft7(SOURCE_2020)
    assert converted["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert converted["definitions"] == SOURCE_2020["$defs"]
    assert converted["properties"]["item"] == {
        "description": "The item.", "allOf": [{"$ref": "#/definitions/Item"}]
    }
    assert converted["properties"]["pair"] == {
        "type": "array", "items": [{"type": "string"}, {"type": "integer"}], "additionalItems": False
    }
    assert converted["properties"]["const"] == {"const": 1}
    assert converted["dependencies"] == {"a": ["b"]}
    Draft7Validator.check_schema(converted)


@pytest.mark.parametrize(
    "instance",
    [{"pair": ["a", 1]}, {"pair": ["a", 1, 2]}, {"pair": [1, "a"]}, {"a": 1}, {"a": 1, "b": 2}, {}],
)
def test_to_draft7_keeps_the_meaning(instance: object) -> None:
    before = Draft202012Validator(SOURCE_2020).is_valid(instance)
    assert Draft7Validator(to_draft7(SOURCE_2020)).is_valid(instance) == before


@pytest.mark.parametrize("keyword", ["unevaluatedProperties", "$dynamicRef", "minContains"])
def test_to_draft7_refuses_what_draft7_would_ignore(keyword: str) -> None:
    with pytest.raises(Draft7ConversionError, match=re.escape(keyword)):
        to_draft7({"properties": {"x": {keyword: False}}})


def test_iter_subschemas_gives_pointers() -> None:
    pointers = [p for p, _ in iter_subschemas(to_draft7(SOURCE_2020))]
    assert "/properties/item/allOf/0" in pointers and "/definitions/Item" in pointers
    assert "/properties/pair/items/1" in pointers


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("seq_kd", "Sequence-level KD"),
        ("lmbda", "Lambda"),
        ("num_train_epochs", "Number of train epochs"),
        ("teacher_model_init_kwargs", "Teacher model init keyword arguments"),
        ("bf16", "bf16"),
        ("GkdSection", "GKD section"),
        ("output_dir", "Output directory"),
        ("lr_scheduler_type", "LR scheduler type"),
    ],
)
def test_humanize(name: str, title: str) -> None:
    assert humanize(name) == title


def test_present_flattens_optional_fields_and_writes_hover_text() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"anyOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "null"}],
                  "default": None, "description": "How many."},
            "mode": {"anyOf": [{"enum": ["a", "b"], "type": "string"}, {"type": "null"}],
                     "description": "Which."},
        },
    }
    presented = present(schema)
    n = presented["properties"]["n"]
    assert n["type"] == ["integer", "null"] and n["exclusiveMinimum"] == 0 and "anyOf" not in n
    assert n["title"] == "N"
    assert n["markdownDescription"] == "How many.\n\nDefault: `null` · Range: > 0"
    assert presented["properties"]["mode"]["enum"] == ["a", "b", None]
    for value in (None, 1, 0, -1, "a", 1.5):
        assert Draft7Validator(schema).is_valid({"n": value}) == Draft7Validator(
            presented
        ).is_valid({"n": value})


@pytest.mark.parametrize(
    ("node", "text"),
    [
        ({"exclusiveMinimum": 0, "maximum": 1}, "(0, 1]"),
        ({"minimum": 0, "exclusiveMaximum": 1.0}, "[0, 1)"),
        ({"minimum": 1}, "≥ 1"),
        ({"exclusiveMinimum": 0.0}, "> 0"),
        ({"maximum": 0.5}, "≤ 0.5"),
        ({}, None),
    ],
)
def test_range_text(node: dict[str, float], text: str | None) -> None:
    assert range_text(node) == text


def test_default_text_is_yaml_like() -> None:
    assert [default_text(v) for v in ("auto", True, None, 0.9, ["none"])] == [
        "auto", "true", "null", "0.9", '["none"]'
    ]


def test_drift_summary_is_capped(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_text("".join(f"line {i}\n" for i in range(50)))
    report = check_file(path, "")
    assert report.drifted and len(report.summary(5)) == 6
    assert report.summary(5)[0] == "@@ -1,50 +0,0 @@"  # where, then what
    assert report.summary(5)[-1] == "... and 46 more"
    assert not check_file(path, path.read_text()).drifted


def test_drift_summary_of_formatting_only(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"a": 1}')
    assert check_file(path, '{\n  "a": 1\n}\n').summary()[1:] == ['-{"a": 1}', "+{", '+  "a": 1', "+}"]
