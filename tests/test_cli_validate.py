"""`gkd validate` and `gkd show` through Typer's runner: every exit code and format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gkd_schema.cli.app import app

CONFIGS = Path(__file__).parent / "configs"
GOOD = CONFIGS / "positive" / "minimal.yaml"
TYPOS = CONFIGS / "negative" / "typos.yaml"
RULES = CONFIGS / "negative" / "rules.yaml"


def test_valid_file_exits_0(runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", str(GOOD)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{GOOD}: valid"


def test_invalid_file_exits_1_with_positions_and_fixes(runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", str(TYPOS)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert f"{TYPOS}:7:3: gkd.lamda: unknown key `lamda`; did you mean `lmbda`?" in lines
    assert f"{TYPOS}:12:1: trainig: unknown key `trainig`; did you mean `training`?" in lines
    assert lines[-1] == f"{TYPOS}: 3 errors, not valid"


def test_every_file_is_reported(runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", str(GOOD), str(TYPOS), str(RULES)])
    assert result.exit_code == 1
    assert f"{GOOD}: valid" in result.stdout
    assert f"{TYPOS}: 3 errors, not valid" in result.stdout
    assert f"{RULES}: 2 errors, not valid" in result.stdout


def test_warnings_do_not_fail(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "warn.yaml"
    config.write_text(
        GOOD.read_text().replace("gkd:\n", "gkd:\n  lmbda: 1.0\n  seq_kd: true\n")
    )
    result = runner.invoke(app, ["validate", str(config)])
    assert result.exit_code == 0
    assert "warning: gkd.seq_kd: `seq_kd` is never used" in result.stdout
    assert result.stdout.splitlines()[-1] == f"{config}: valid (1 warning)"
    quiet = runner.invoke(app, ["validate", "-q", str(config)])
    assert quiet.exit_code == 0 and quiet.stdout == ""


def test_json_format_is_one_document_with_the_documented_shape(runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", "--format", "json", str(GOOD), str(TYPOS)])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["valid"] is False
    assert [f["path"] for f in document["files"]] == [str(GOOD), str(TYPOS)]
    assert [f["valid"] for f in document["files"]] == [True, False]
    errors = document["files"][1]["errors"]
    assert {"loc": ["gkd", "lamda"], "line": 7, "column": 3,
            "message": "unknown key `lamda`; did you mean `lmbda`?",
            "type": "extra_forbidden"} in errors
    for err in errors:
        assert set(err) == {"loc", "line", "column", "message", "type"}


def test_github_format(runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", "--format", "github", str(TYPOS)])
    assert result.exit_code == 1
    assert (
        f"::error file={TYPOS},line=7,col=3,title=gkd.lamda::"
        "unknown key `lamda`; did you mean `lmbda`?"
    ) in result.stdout.splitlines()


def test_missing_file_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"gkd: no such file: {tmp_path / 'nope.yaml'}"
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [["validate", "--bogus", "x.yaml"], ["validate"], ["validate", "--format", "xml", "a"],
     ["validate", "--set", "novalue", "a"]],
)
def test_usage_errors_exit_2(runner: CliRunner, args: list[str]) -> None:
    if args[-1] == "a":
        args[-1] = str(GOOD)
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_set_overrides_and_says_so(runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", str(GOOD), "--set", "gkd.beta=2"])
    assert result.exit_code == 1
    assert f"{GOOD}: --set gkd.beta=2: gkd.beta: must be in [0, 1], got 2" in result.stdout
    ok = runner.invoke(app, ["validate", str(GOOD), "--set", "training.learning_rate=2e-5"])
    assert ok.exit_code == 0


def test_precedence_set_over_env_over_file(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GKD_GKD__BETA", "0.25")
    monkeypatch.setenv("GKD_TRAINING__LEARNING_RATE", "3e-4")
    result = runner.invoke(app, ["show", str(GOOD), "--format", "json", "--set", "gkd.beta=0.75"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["gkd"]["beta"] == 0.75
    assert shown["training"]["learning_rate"] == 3e-4
    assert shown["gkd"]["lmbda"] == 0.5
    monkeypatch.setenv("GKD_GKD__LMBDA", "2")
    bad = runner.invoke(app, ["validate", str(GOOD)])
    assert bad.exit_code == 1
    assert "environment variable GKD_GKD__LMBDA: gkd.lmbda: must be in [0, 1], got 2" in bad.stdout


def test_show_output_validates_to_the_same_config(runner: CliRunner, tmp_path: Path) -> None:
    full = CONFIGS / "positive" / "full.yaml"
    for fmt in ("yaml", "json"):
        shown = runner.invoke(app, ["show", str(full), "--format", fmt])
        assert shown.exit_code == 0, shown.output
        again = tmp_path / f"again.{fmt}.yaml"
        again.write_text(shown.stdout)
        first = runner.invoke(app, ["show", str(full), "--format", "json"]).stdout
        second = runner.invoke(app, ["show", str(again), "--format", "json"]).stdout
        assert json.loads(first) == json.loads(second)


def test_show_invalid_exits_1_with_errors_on_stderr(runner: CliRunner) -> None:
    result = runner.invoke(app, ["show", str(TYPOS)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "did you mean `lmbda`?" in result.stderr


def test_unreadable_yaml_exits_1(runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", str(CONFIGS / "negative" / "python_tag.yaml")])
    assert result.exit_code == 1
    assert "python_tag.yaml:3:17: model.name_or_path: the tag `tag:yaml.org,2002:python/object/apply:os.system`" in (
        result.stdout
    )


def test_a_directory_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"gkd: not a file: {tmp_path}"


def test_unreadable_file_is_a_report_not_a_traceback(tmp_path: Path) -> None:
    from gkd_schema.config.validation import validate_file

    report = validate_file(tmp_path, environ={})
    assert not report.valid
    assert [d.type for d in report.errors] == ["unreadable_file"]


def test_unrelated_gkd_variables_are_ignored(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GKD_REQUIRE_EDITOR_TESTS", "1")
    monkeypatch.setenv("GKD_HOME", "/somewhere")
    result = runner.invoke(app, ["validate", str(GOOD)])
    assert result.exit_code == 0, result.output
