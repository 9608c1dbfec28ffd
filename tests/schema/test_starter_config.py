"""The starter config validates as written, and its modeline points at a real schema."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from schema_oracles import REPO_ROOT, load_config_file, schema_errors

from gkd_schema.artifacts.schema_export import packaged_schema_path
from gkd_schema.artifacts.starter_config import (
    DEFAULT_STUDENT,
    DEFAULT_TEACHER,
    MODELINE_PREFIX,
    render_starter_config,
    schema_reference,
    write_starter_config,
    yaml_scalar,
)
from gkd_schema.config.validation import validate_file
from gkd_schema.config.yaml_loader import load_yaml
from gkd_schema.models import GkdSection, RunConfig, TrainingSection
from gkd_schema.models.rules import check_rules


def test_starter_validates_with_no_errors_and_no_warnings(tmp_path: Path) -> None:
    path = tmp_path / "gkd.yaml"
    write_starter_config(path)
    report = validate_file(path, environ={})
    assert (report.errors, report.warnings) == ([], [])
    config = RunConfig.model_validate(load_config_file(path))
    assert check_rules(config) == []
    assert schema_errors(load_config_file(path)) == []


def test_starter_spells_out_the_gkd_knobs_with_the_model_defaults(tmp_path: Path) -> None:
    data = load_yaml(render_starter_config("x.json"))[0]
    assert data["model"]["name_or_path"] == DEFAULT_STUDENT
    assert data["gkd"]["teacher_model_name_or_path"] == DEFAULT_TEACHER
    for key in ("temperature", "lmbda", "beta", "max_new_tokens", "seq_kd", "disable_dropout"):
        assert data["gkd"][key] == GkdSection.model_fields[key].default, key
    assert data["training"]["learning_rate"] == TrainingSection.model_fields["learning_rate"].default


def test_starter_comments_are_the_field_descriptions() -> None:
    text = " ".join(
        line.strip().removeprefix("# ") for line in render_starter_config("x.json").splitlines()
    )
    for key in ("beta", "lmbda", "seq_kd"):
        assert (GkdSection.model_fields[key].description or "?") in text, key


def test_modeline_is_the_first_line() -> None:
    lines = render_starter_config("./schemas/gkd-config.schema.json").splitlines()
    assert lines[0] == f"{MODELINE_PREFIX}./schemas/gkd-config.schema.json"


@pytest.mark.parametrize(
    ("relative_dir", "expected"),
    [
        (".", "./schemas/gkd-config.schema.json"),
        ("examples", "../schemas/gkd-config.schema.json"),
        ("examples/deep/er", "../../../schemas/gkd-config.schema.json"),
    ],
)
def test_modeline_inside_the_repository_is_relative(relative_dir: str, expected: str) -> None:
    config = REPO_ROOT / relative_dir / "gkd.yaml"
    reference = schema_reference(config)
    assert reference == expected
    assert (config.parent / reference).resolve() == REPO_ROOT / "schemas" / "gkd-config.schema.json"


def test_modeline_outside_the_repository_is_the_installed_schema(tmp_path: Path) -> None:
    reference = schema_reference(tmp_path / "gkd.yaml")
    assert reference == packaged_schema_path().as_uri()
    assert reference.startswith("file:///") and packaged_schema_path().is_file()


def test_relative_reference_from_a_relative_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT / "docs")
    assert schema_reference(Path("gkd.yaml")) == "../schemas/gkd-config.schema.json"


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_read_back_as_the_same_float(value: float) -> None:
    loaded = load_yaml(f"x: {yaml_scalar(value)}")[0]["x"]
    assert isinstance(loaded, float) and (loaded == value or math.isclose(loaded, value))


@given(st.text(max_size=12) | st.sampled_from(["yes", "null", "~", ".inf", ".5", "1e3", "a: b", "#x"]))
def test_strings_read_back_as_the_same_string(value: str) -> None:
    assert load_yaml(f"x: {yaml_scalar(value)}")[0]["x"] == value
