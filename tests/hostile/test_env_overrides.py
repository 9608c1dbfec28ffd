"""`GKD_*` variables: read like `--set` values, with the documented semantics pinned one by one."""

from __future__ import annotations

from pathlib import Path

import pytest

from gkd_schema.config.overrides import OverrideSyntaxError, env_overrides, parse_set_option
from gkd_schema.config.validation import validate_file

GOOD = Path(__file__).parent.parent / "configs" / "positive" / "minimal.yaml"


@pytest.mark.parametrize(
    "raw", ["[wandb]", "[wandb, tensorboard]", "{a: 1}", "2e-5", "yes", "'quoted'", "1_000", "", "~", "! 5"]
)
def test_an_environment_value_reads_like_a_set_value(raw: str) -> None:
    (env,) = env_overrides({"GKD_TRAINING__REPORT_TO": raw})
    assert env.value == parse_set_option(f"training.report_to={raw}").value
    assert env.loc == ("training", "report_to")


def test_a_list_from_the_environment_validates(tmp_path: Path) -> None:
    report = validate_file(GOOD, environ={"GKD_TRAINING__REPORT_TO": "[wandb]"})
    assert report.errors == []
    assert report.config is not None and report.config.training.report_to == ["wandb"]


def test_an_empty_value_is_null_and_blamed_on_the_variable() -> None:
    report = validate_file(GOOD, environ={"GKD_GKD__BETA": ""})
    assert [(d.loc, d.type, d.origin) for d in report.errors] == [
        (("gkd", "beta"), "float_type", "environment variable GKD_GKD__BETA")
    ]


def test_a_variable_naming_no_section_is_ignored() -> None:
    assert env_overrides({"GKD_HOME": "/x", "GKD_REQUIRE_EDITOR_TESTS": "1", "GKD_": "x", "PATH": "/bin"}) == []


def test_an_unknown_key_in_a_section_is_an_error_naming_the_variable() -> None:
    report = validate_file(GOOD, environ={"GKD_GKD__LAMDA": "0.5"})
    assert [(d.loc, d.type, d.origin, d.line) for d in report.errors] == [
        (("gkd", "lamda"), "extra_forbidden", "environment variable GKD_GKD__LAMDA", None)
    ]
    assert "did you mean `lmbda`?" in report.errors[0].message


def test_names_are_case_insensitive() -> None:
    (env,) = env_overrides({"gkd_Training__Learning_Rate": "3e-4"})
    assert (env.loc, env.value) == (("training", "learning_rate"), 3e-4)


def test_a_section_variable_replaces_the_section_and_its_keys_apply_inside_it() -> None:
    environ = {"GKD_TRAINING__MAX_STEPS": "7", "GKD_TRAINING": "{output_dir: runs/env}"}
    assert [o.loc for o in env_overrides(environ)] == [("training",), ("training", "max_steps")]
    report = validate_file(GOOD, environ=environ)
    assert report.errors == []
    assert report.config is not None
    assert (report.config.training.output_dir, report.config.training.max_steps) == ("runs/env", 7)


def test_set_wins_over_the_environment() -> None:
    report = validate_file(GOOD, ["gkd.beta=0.75"], environ={"GKD_GKD__BETA": "0.25"})
    assert report.config is not None and report.config.gkd.beta == 0.75


def test_a_value_that_is_not_yaml_is_a_usage_error_naming_the_variable() -> None:
    with pytest.raises(OverrideSyntaxError, match=r"^environment variable GKD_GKD__BETA: invalid YAML"):
        env_overrides({"GKD_GKD__BETA": "[unclosed"})
