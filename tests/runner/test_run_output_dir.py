"""The output directory rules: never write into an occupied directory unless resuming or asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from gkd_schema.runner.preflight.output_plan import OutputDirError, newest_checkpoint, plan_output
from gkd_schema.runner.train.output_dir import clear_previous_run


def _checkpoint(root: Path, step: int, complete: bool = True) -> Path:
    path = root / f"checkpoint-{step}"
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(b"x")
    if complete:
        (path / "trainer_state.json").write_text("{}")
    return path


def test_missing_or_empty_dir_starts_fresh(tmp_path: Path) -> None:
    for out in (tmp_path / "new", tmp_path):
        plan = plan_output(out, "never", overwrite=False, base_dir=tmp_path)
        assert plan.resume_from is None and not plan.clear_previous


def test_occupied_dir_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputDirError) as info:
        plan_output(tmp_path, "never", overwrite=False, base_dir=tmp_path)
    assert info.value.diagnostic.loc == ("training", "output_dir")
    assert info.value.diagnostic.type == "output_dir_occupied"
    assert "--overwrite" in info.value.diagnostic.message
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_auto_resumes_from_newest_complete_checkpoint(tmp_path: Path) -> None:
    _checkpoint(tmp_path, 2)
    _checkpoint(tmp_path, 10)
    _checkpoint(tmp_path, 12, complete=False)  # cut off mid-save: skipped
    plan = plan_output(tmp_path, "auto", overwrite=False, base_dir=tmp_path)
    assert plan.resume_from == tmp_path / "checkpoint-10"
    assert newest_checkpoint(tmp_path) == tmp_path / "checkpoint-10"


def test_auto_without_checkpoint_refuses_foreign_files(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("a")
    with pytest.raises(OutputDirError) as refused:
        plan_output(tmp_path, "auto", overwrite=False, base_dir=tmp_path)
    # `resume` is already `auto`: the fix must not be "set training.resume: auto".
    assert "Set `training.resume: auto`" not in refused.value.diagnostic.message


@pytest.mark.parametrize("resume", ["auto", "never"])
def test_a_run_stopped_before_its_first_checkpoint_is_replaced(tmp_path: Path, resume: str) -> None:
    (tmp_path / "gkd_config.yaml").write_text("model: {}")
    (tmp_path / "on_policy_decisions").mkdir()
    plan = plan_output(tmp_path, resume, overwrite=False, base_dir=tmp_path)
    assert plan.resume_from is None and plan.clear_previous and plan.replaces_unstarted


def test_explicit_checkpoint_must_be_complete(tmp_path: Path) -> None:
    _checkpoint(tmp_path / "out", 3, complete=False)
    with pytest.raises(OutputDirError) as info:
        plan_output(tmp_path / "out", "./out/checkpoint-3", overwrite=False, base_dir=tmp_path)
    assert info.value.diagnostic.loc == ("training", "resume")


def test_explicit_checkpoint_inside_output_dir(tmp_path: Path) -> None:
    _checkpoint(tmp_path / "out", 3)
    plan = plan_output(tmp_path / "out", "./out/checkpoint-3", overwrite=False, base_dir=tmp_path)
    assert plan.resume_from == tmp_path / "out" / "checkpoint-3"


def test_overwrite_removes_only_run_artifacts(tmp_path: Path) -> None:
    _checkpoint(tmp_path, 4)
    (tmp_path / "model.safetensors").write_bytes(b"old")
    (tmp_path / "my_notes.md").write_text("keep me")
    plan = plan_output(tmp_path, "never", overwrite=True, base_dir=tmp_path)
    assert plan.clear_previous
    clear_previous_run(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my_notes.md"]


def test_output_dir_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("")
    with pytest.raises(OutputDirError) as info:
        plan_output(target, "never", overwrite=True, base_dir=tmp_path)
    assert info.value.diagnostic.type == "output_dir_is_file"
