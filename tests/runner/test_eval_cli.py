"""`gkd eval`: what it scores for a config and a run directory, its JSON, its exit codes."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gkd_schema.cli.app import app


def _eval(*args: str) -> Any:
    return CliRunner().invoke(app, ["eval", *args])


def _config_with_eval(write_config: Any, tmp_path: Path, messages_jsonl: Path) -> Path:
    path: Path = write_config(tmp_path, data={"eval": {"path": str(messages_jsonl)}})
    return path


def check_eval_json(data: dict[str, Any], labels: list[str], prompts: int) -> None:
    """The documented shape of `gkd eval --format json`, with sane ranges."""
    assert set(data) == {"split", "prompts", "max_new_tokens", "models"}
    assert data["split"] == "eval" and data["prompts"] == prompts
    assert [m["label"] for m in data["models"]] == labels
    for model in data["models"]:
        assert set(model) == {"label", "exact_match", "greedy_agreement", "own", "dataset"}
        assert 0.0 <= model["exact_match"] <= 1.0
        assert 0.0 <= model["greedy_agreement"] <= 1.0
        for where in ("own", "dataset"):
            div = model[where]
            assert set(div) == {"forward_kl", "reverse_kl", "jsd", "tokens"}
            assert isinstance(div["tokens"], int) and div["tokens"] > 0
            assert div["forward_kl"] >= 0 and div["reverse_kl"] >= 0
            assert 0 <= div["jsd"] <= math.log(2) + 1e-6
    teacher = data["models"][0]
    assert teacher["greedy_agreement"] == 1.0
    assert teacher["own"]["reverse_kl"] == pytest.approx(0.0, abs=1e-5)


@pytest.mark.slow
def test_eval_of_a_config_scores_teacher_and_starting_student(
    write_config: Any, tmp_path: Path, messages_jsonl: Path
) -> None:
    cfg = _config_with_eval(write_config, tmp_path, messages_jsonl)
    result = _eval(str(cfg), "--format", "json", "--max-samples", "4")
    assert result.exit_code == 0, result.output
    check_eval_json(json.loads(result.stdout), ["teacher", "student"], prompts=4)


@pytest.mark.slow
def test_eval_of_a_run_dir_scores_before_and_after(
    write_config: Any, tmp_path: Path, messages_jsonl: Path, tiny_student_dir: Path
) -> None:
    cfg = _config_with_eval(write_config, tmp_path, messages_jsonl)
    run_dir = tmp_path / "out"
    shutil.copytree(tiny_student_dir, run_dir)  # stands in for the saved, trained student
    shutil.copy(cfg, run_dir / "gkd_config.yaml")
    result = _eval(str(run_dir), "--format", "json", "--max-samples", "3")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    check_eval_json(data, ["teacher", "student (before)", "student (after)"], prompts=3)
    # Same weights before and after: the same scores.
    assert data["models"][1]["own"] == data["models"][2]["own"]

    text = _eval(str(run_dir), "--max-samples", "2")
    assert text.exit_code == 0, text.output
    for word in ("teacher", "student (before)", "student (after)", "exact", "rev KL"):
        assert word in text.stdout


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("missing_path", 2),
        ("dir_without_config", 2),
        ("bad_format", 2),
        ("bad_split", 2),
        ("no_eval_split", 2),
        ("run_without_model", 2),
        ("invalid_config", 1),
    ],
)
def test_eval_exit_codes(write_config: Any, tmp_path: Path, messages_jsonl: Path, case: str, code: int) -> None:
    cfg = _config_with_eval(write_config, tmp_path, messages_jsonl)
    args = [str(cfg)]
    if case == "missing_path":
        args = [str(tmp_path / "nope.yaml")]
    elif case == "dir_without_config":
        args = [str(tmp_path)]
    elif case == "bad_format":
        args += ["--format", "xml"]
    elif case == "bad_split":
        args += ["--split", "test"]
    elif case == "no_eval_split":
        args = [str(write_config(tmp_path, filename="no_eval.yaml"))]
    elif case == "run_without_model":
        run_dir = tmp_path / "empty_run"
        run_dir.mkdir()
        shutil.copy(cfg, run_dir / "gkd_config.yaml")
        args = [str(run_dir)]
    elif case == "invalid_config":
        args = [str(write_config(tmp_path, filename="bad.yaml", gkd={"lmbda": 1.5}))]
    result = _eval(*args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output


def test_eval_and_plot_commands_import_nothing_heavy() -> None:
    code = (
        "import sys, gkd_schema.cli.eval_cmd, gkd_schema.cli.plot_cmd\n"
        "heavy = {'torch', 'transformers', 'trl', 'datasets', 'matplotlib'} & set(sys.modules)\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
