"""`gkd run` on the command line: exit codes, --dry-run, refusals; no heavy imports for --help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from gkd_schema.cli.app import app

HEAVY = ("torch", "transformers", "trl", "datasets", "accelerate", "peft")


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["run", *args], catch_exceptions=False)


def test_cli_import_and_help_load_nothing_heavy() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from gkd_schema.cli.app import app; "
        "r = CliRunner().invoke(app, ['run', '--help']); assert r.exit_code == 0, r.output; "
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_dry_run_prints_trl_arguments_and_loads_nothing(write_config: Any, tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    result = _invoke(str(cfg), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "GKDConfig(" in result.output and "lmbda=0.5," in result.output
    assert "bf16=False," in result.output and "Precision:  fp32" in result.output
    assert "train 16 rows" in result.output
    assert not (tmp_path / "out").exists()


def test_dry_run_says_where_each_model_is_read_from(
    write_config: Any, tmp_path: Path, tiny_teacher_dir: Path, monkeypatch: Any
) -> None:
    (tmp_path / "teacher").symlink_to(tiny_teacher_dir)
    monkeypatch.chdir(tmp_path)
    cfg = write_config(tmp_path, gkd={"teacher_model_name_or_path": "teacher"})
    result = _invoke(str(cfg), "--dry-run")
    assert result.exit_code == 0, result.output
    teacher_line = next(line for line in result.output.splitlines() if line.strip().startswith("teacher"))
    assert f"(local folder {tmp_path / 'teacher'};" in teacher_line


def test_occupied_output_dir_is_refused(write_config: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.txt").write_text("a week of GPU time")
    cfg = write_config(tmp_path)
    result = _invoke(str(cfg), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    errors = report["files"][0]["errors"] if "files" in report else report[0]["errors"]
    assert [e["type"] for e in errors] == ["output_dir_occupied"]
    assert sorted(p.name for p in out.iterdir()) == ["results.txt"]


def test_unknown_extra_arg_exit_1_with_suggestion(write_config: Any, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, training={"extra_args": {"lr_schedular_kwargs": {}}})
    result = _invoke(str(cfg), "--dry-run")
    assert result.exit_code == 1
    assert "training.extra_args.lr_schedular_kwargs" in result.output
    assert "did you mean `lr_scheduler_kwargs`" in result.output


def test_invalid_config_same_as_validate(write_config: Any, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, gkd={"lmbda": 1.5})
    run = _invoke(str(cfg))
    validate = CliRunner().invoke(app, ["validate", str(cfg)])
    assert run.exit_code == validate.exit_code == 1
    assert "gkd.lmbda" in run.output and run.output.strip() == validate.output.strip()


def test_missing_config_is_a_usage_error(tmp_path: Path) -> None:
    assert _invoke(str(tmp_path / "nope.yaml")).exit_code == 2
