"""`gkd convert` from the command line: output, exit codes and errors, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gkd_schema.cli.app import app
from gkd_schema.config.validation import validate_file

FIXTURES = Path(__file__).parent / "fixtures"
OUMI = FIXTURES / "oumi_gkd_example.yaml"
TRL = FIXTURES / "trl_gkd_full.yaml"
GKD = Path(__file__).parents[1] / "configs" / "positive" / "minimal.yaml"


def _run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["convert", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_prints_the_converted_config_and_a_summary() -> None:
    code, out, err = _run("--from", "oumi", OUMI)
    assert code == 0
    assert out.startswith("# yaml-language-server: $schema=")
    assert "teacher_model_name_or_path: HuggingFaceTB/SmolLM2-360M-Instruct" in out
    assert "4 keys not converted" in err


def test_writes_output_and_refuses_to_overwrite_without_the_flag(tmp_path: Path) -> None:
    target = tmp_path / "gkd.yaml"
    assert _run("--from", "trl", TRL, "--output", target)[0] == 0
    assert validate_file(target, environ={}).valid
    target.write_text("keep me\n")
    code, _, err = _run("--from", "trl", TRL, "--output", target)
    assert (code, target.read_text()) == (2, "keep me\n")
    assert "--overwrite" in err
    assert _run("--from", "trl", TRL, "--output", target, "--overwrite")[0] == 0
    assert target.read_text().startswith("# yaml-language-server: $schema=")


@pytest.mark.parametrize(
    ("tool", "source", "expected"),
    [
        ("oumi", GKD, "already a gkd config"),
        ("trl", GKD, "a gkd config already"),
        ("trl", OUMI, "use `--from oumi`"),
        ("oumi", TRL, "use `--from trl`"),
    ],
    ids=["gkd-as-oumi", "gkd-as-trl", "oumi-as-trl", "trl-as-oumi"],
)
def test_a_config_of_another_format_is_a_clear_error(tool: str, source: Path, expected: str) -> None:
    code, out, err = _run("--from", tool, source)
    assert (code, out) == (1, "")
    assert expected in err


def test_an_oumi_config_for_another_trainer_is_refused_at_its_line(tmp_path: Path) -> None:
    sft = tmp_path / "sft.yaml"
    sft.write_text(OUMI.read_text().replace('trainer_type: "TRL_GKD"', 'trainer_type: "TRL_SFT"'))
    line = next(i for i, text in enumerate(sft.read_text().splitlines(), 1) if "trainer_type" in text)
    code, _, err = _run("--from", "oumi", sft)
    assert code == 1
    assert err.startswith(f"{sft}:{line}:3: `training.trainer_type` is `TRL_SFT`; gkd converts GKD runs only")


def test_a_missing_teacher_is_an_error_not_a_placeholder(tmp_path: Path) -> None:
    source = tmp_path / "trl.yaml"
    source.write_text("model_name_or_path: Qwen/Qwen2-0.5B-Instruct\ndataset_name: trl-lib/x\n")
    code, out, err = _run("--from", "trl", source)
    assert (code, out) == (1, "")
    assert "`teacher_model_name_or_path` is missing" in err


def test_invalid_yaml_is_a_located_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  model_name: a\n  model_name: b\n")
    code, _, err = _run("--from", "oumi", bad)
    assert code == 1
    assert err.startswith(f"{bad}:3:3: duplicate key `model_name`")


def test_a_converted_config_that_does_not_validate_is_written_and_reported(tmp_path: Path) -> None:
    source = tmp_path / "oumi.yaml"
    source.write_text(OUMI.read_text().replace("lmbda: 0.5", "lmbda: 1.5"))
    code, out, err = _run("--from", "oumi", source)
    assert code == 1
    assert "lmbda: 1.5" in out
    assert "gkd.lmbda: must be in [0, 1], got 1.5" in err


@pytest.mark.parametrize("args", [["--from", "oumi", "missing.yaml"], ["--from", "axolotl", str(OUMI)]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    code, _, err = _run(*args)
    assert code == 2
    assert err.startswith("gkd: ")


def test_help_shows_the_tools_to_convert_from() -> None:
    result = CliRunner().invoke(app, ["convert", "--help"], terminal_width=160)
    line = next(line for line in result.output.splitlines() if "--from" in line)
    assert "<oumi|trl>" in line
