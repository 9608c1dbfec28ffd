"""Runs that fail, stop or resume: nothing blocks the rerun, messages are true, nothing is lost."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest
from transformers import TrainerCallback
from typer.testing import CliRunner

from gkd_schema.cli.app import app
from gkd_schema.config.validation import validate_file
from gkd_schema.runner.preflight.run_plan import RunSetupError
from gkd_schema.runner.train.run import RunFailedError, execute

pytestmark = pytest.mark.slow


class FailAtStep(TrainerCallback):  # type: ignore[misc]
    """Raise as a crash would (an OOM, a bad batch) when step `step` begins."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step == self.step:
            raise RuntimeError("simulated crash")


class CtrlCAtStep(TrainerCallback):  # type: ignore[misc]
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGINT)


def _config(write_config: Any, tmp_path: Path, **sections: Any) -> Any:
    config = validate_file(write_config(tmp_path, **sections)).config
    assert config is not None
    return config


def _steps(out: Path) -> list[int]:
    rows = (out / "on_policy_decisions" / "rank0.jsonl").read_text().splitlines()
    return [json.loads(row)["step"] for row in rows]


def test_a_run_that_crashes_before_its_first_checkpoint_does_not_block_the_rerun(
    write_config: Any, tmp_path: Path
) -> None:
    config = _config(write_config, tmp_path, training={"save_steps": 100})  # resume: never
    with pytest.raises(RunFailedError) as failed:
        execute(config, base_dir=tmp_path, echo=lambda _line: None, callbacks=[FailAtStep(1)])
    message = str(failed.value)
    assert message.startswith("training failed at step 1: RuntimeError: simulated crash")
    assert "no checkpoint was saved" in message and "resume" not in message
    assert (tmp_path / "out" / "gkd_config.yaml").exists()
    lines: list[str] = []
    assert execute(config, base_dir=tmp_path, echo=lines.append) == 0
    assert any("replaces a run that stopped before its first checkpoint" in line for line in lines)
    assert _steps(tmp_path / "out") == [0, 1, 2, 3]


def test_after_a_crash_with_resume_auto_the_message_says_to_rerun(write_config: Any, tmp_path: Path) -> None:
    config = _config(write_config, tmp_path, training={"resume": "auto"})  # save_steps 2
    with pytest.raises(RunFailedError) as failed:
        execute(config, base_dir=tmp_path, echo=lambda _line: None, callbacks=[FailAtStep(3)])
    assert "checkpoint-2 is complete; run the same command again" in str(failed.value)
    assert "set training.resume" not in str(failed.value).lower()
    assert execute(config, base_dir=tmp_path, echo=lambda _line: None) == 0
    # Step 2 ran before the crash and again after the resume: logged once.
    assert _steps(tmp_path / "out") == [0, 1, 2, 3]


def test_ctrl_c_with_resume_auto_says_to_run_again(write_config: Any, tmp_path: Path) -> None:
    config = _config(write_config, tmp_path, training={"resume": "auto", "save_steps": 100})
    lines: list[str] = []
    assert execute(config, base_dir=tmp_path, echo=lines.append, callbacks=[CtrlCAtStep(1)]) == 130
    assert any("run the same command again" in line for line in lines)
    assert not any("--set training.resume=auto" in line for line in lines)


def test_resuming_with_another_teacher_or_data_is_refused_naming_each_key(
    write_config: Any, tmp_path: Path, tiny_student_dir: Path, messages_jsonl: Path
) -> None:
    config = _config(write_config, tmp_path, training={"resume": "auto"})
    assert execute(config, base_dir=tmp_path, echo=lambda _line: None) == 0
    other_data = tmp_path / "other.jsonl"
    shutil.copy(messages_jsonl, other_data)
    changed = _config(
        write_config,
        tmp_path,
        gkd={"teacher_model_name_or_path": str(tiny_student_dir)},
        data={"train": {"path": str(other_data)}},
        training={"resume": "auto", "max_steps": 6},
    )
    with pytest.raises(RunSetupError) as refused:
        execute(changed, base_dir=tmp_path, echo=lambda _line: None)
    locs = sorted(d.loc for d in refused.value.diagnostics if d.type == "resume_changes_run")
    assert locs == [("data", "train", "path"), ("gkd", "teacher_model_name_or_path")]
    assert sorted(p.name for p in (tmp_path / "out").glob("gkd_config*.yaml")) == ["gkd_config.yaml"]


def test_resuming_with_other_settings_warns_and_keeps_every_resolved_config(
    write_config: Any, tmp_path: Path
) -> None:
    config = _config(write_config, tmp_path, training={"resume": "auto"})
    assert execute(config, base_dir=tmp_path, echo=lambda _line: None) == 0
    original = (tmp_path / "out" / "gkd_config.yaml").read_text()
    cfg = write_config(tmp_path, training={"resume": "auto", "max_steps": 6, "learning_rate": 5e-4})
    result = CliRunner().invoke(app, ["run", str(cfg)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "2 changed setting(s)" in result.output
    assert "`training.learning_rate` 0.001 -> 0.0005" in result.output
    assert (tmp_path / "out" / "gkd_config.yaml").read_text() == original  # never overwritten
    card = (tmp_path / "out" / "README.md").read_text()
    assert "huggingface.co/None" not in card and 'model="None"' not in card
    assert "max_steps: 6" in (tmp_path / "out" / "gkd_config.1.yaml").read_text()
