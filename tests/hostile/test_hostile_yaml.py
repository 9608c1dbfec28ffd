"""Hostile YAML through every door (file, `--set`, environment): a located error, never a traceback."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pytest
from hostile_cases import CASES, Case
from typer.testing import CliRunner

from gkd_schema.cli.app import app
from gkd_schema.config.overrides import OverrideSyntaxError, env_overrides, parse_set_option
from gkd_schema.config.validation import validate_file
from gkd_schema.config.yaml_loader import YamlLoadError, load_yaml

GOOD = Path(__file__).parent.parent / "configs" / "positive" / "minimal.yaml"
IDS = [case.id for case in CASES]


def _write(tmp_path: Path, case: Case) -> Path:
    path = tmp_path / f"{case.id}.yaml"
    path.write_text(case.text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_file_gives_one_located_error(tmp_path: Path, case: Case) -> None:
    report = validate_file(_write(tmp_path, case), environ={})
    assert [d.type for d in report.errors] == [case.kind], report.errors
    error = report.errors[0]
    if case.loc is not None:
        assert error.loc == case.loc
    assert error.line == case.line
    assert (error.column is None) == (error.line is None)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("command", ["validate", "show"])
def test_the_cli_exits_1_without_a_traceback(runner: CliRunner, tmp_path: Path, case: Case, command: str) -> None:
    path = _write(tmp_path, case)
    result = runner.invoke(app, [command, str(path)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    where = f"{path}:{case.line}:" if case.line is not None else f"{path}: "
    assert where in result.output


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_set_value_gives_a_usage_error_naming_it(runner: CliRunner, case: Case) -> None:
    with pytest.raises(OverrideSyntaxError) as info:
        parse_set_option(f"training.extra_args.x={case.text}")
    assert str(info.value).startswith("--set training.extra_args.x=")
    result = runner.invoke(app, ["validate", str(GOOD), "--set", f"training.extra_args.x={case.text}"])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_an_environment_value_gives_a_usage_error_naming_it(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    with pytest.raises(OverrideSyntaxError) as info:
        env_overrides({"GKD_TRAINING__EXTRA_ARGS__X": case.text})
    assert str(info.value).startswith("environment variable GKD_TRAINING__EXTRA_ARGS__X: ")
    if "\x00" not in case.text:
        monkeypatch.setenv("GKD_TRAINING__EXTRA_ARGS__X", case.text)
        result = runner.invoke(app, ["validate", str(GOOD)])
        assert result.exit_code == 2
        assert "environment variable GKD_TRAINING__EXTRA_ARGS__X" in result.stderr


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("! 5", "5"), ("!!str 5", "5"), ("!!int '3'", 3), ("!!int 0x1F", 31), ("!!float 1", 1.0),
        ("!!bool 'true'", True), ("!!null ''", None), ("!!null ~", None), ("!<tag:yaml.org,2002:str> 1", "1"),
        ("!!map {x: 1}", {"x": 1}), ("!!seq [1]", [1]), ("! [1]", [1]),
    ],
)
def test_tags_that_agree_with_their_value(text: str, value: object) -> None:
    loaded = load_yaml(f"k: {text}\n")[0]["k"]
    assert loaded == value and type(loaded) is type(value)


def test_a_yaml_1_2_directive_is_fine() -> None:
    assert load_yaml("%YAML 1.2\n---\nbf16: yes\n")[0] == {"bf16": "yes"}


def test_json_escapes_for_emoji_give_the_character() -> None:
    assert load_yaml('k: "\\ud83d\\ude00 \\u0085"\n')[0] == {"k": "\U0001f600 \x85"}


def test_infinities_stay_numbers_for_validation_to_refuse() -> None:
    assert load_yaml("k: -.inf")[0]["k"] == -math.inf


def test_reused_anchors_warn_nobody(runner: CliRunner, tmp_path: Path) -> None:
    text = "a: &x 1\nb: &x 2\nc: *x\n"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert load_yaml(text)[0] == {"a": 1, "b": 2, "c": 2}  # the latest anchor, as YAML says
    assert caught == []
    config = tmp_path / "reused.yaml"
    config.write_text(GOOD.read_text() + "x: &x 1\ny: &x 2\n")
    result = runner.invoke(app, ["validate", str(config)])
    assert result.stderr == ""


def test_duplicate_key_error_in_json_has_the_full_path(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "dup.yaml"
    config.write_text(GOOD.read_text().replace("gkd:\n", "gkd:\n  beta: 0.1\n  beta: 0.2\n"))
    result = runner.invoke(app, ["validate", "--format", "json", str(config)])
    error = json.loads(result.stdout)["files"][0]["errors"][0]
    assert (error["loc"], error["line"], error["type"]) == (["gkd", "beta"], 7, "duplicate_key")


def test_errors_carry_the_key_path_of_their_value() -> None:
    with pytest.raises(YamlLoadError) as info:
        load_yaml("training:\n  extra_args:\n    x: [1, !!bool maybe]\n")
    assert info.value.loc == ("training", "extra_args", "x", 1)
    assert info.value.mark is not None and info.value.mark.line == 3


def test_merge_sources_earlier_win_and_written_keys_win_over_all() -> None:
    text = "a: &a {x: 1, y: 1}\nb: &b {x: 2, y: 2, z: 2}\nc:\n  y: 3\n  <<: [*a, *b]\n"
    value, positions = load_yaml(text)
    assert value["c"] == {"x": 1, "y": 3, "z": 2}
    assert positions.keys[("c", "y")].line == 4  # written here, not merged
    assert positions.alias_of(("c", "y")) is None
    use = positions.alias_of(("c", "z"))
    assert use is not None and (use.anchor, use.anchor_mark.line) == ("b", 2)


def test_an_error_in_a_merged_value_points_at_the_merge_and_names_the_anchor(tmp_path: Path) -> None:
    config = tmp_path / "merged.yaml"
    text = GOOD.read_text().replace("model:\n", "knobs: &knobs {beta: 2}\nmodel:\n")
    config.write_text(text.replace("gkd:\n", "gkd:\n  <<: *knobs\n"))
    report = validate_file(config, environ={})
    (merged,) = [d for d in report.errors if d.loc == ("gkd", "beta")]
    assert merged.line == text.splitlines().index("gkd:") + 2  # the `<<` line
    assert "`&knobs` on line 3" in merged.message
