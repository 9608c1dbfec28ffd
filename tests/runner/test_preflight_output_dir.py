"""The output-directory check of preflight: the rule `gkd run` applies, as diagnostics.

The rule's details are tested with `plan_output` (test_run_output_dir.py); these
tests pin what preflight reports for each case.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gkd_schema.models import TrainingSection
from gkd_schema.runner.preflight.output_dir import check_output_dir

OUTPUT = ("training", "output_dir")
RESUME = ("training", "resume")


def _check(base: Path, overwrite: bool = False, **training: Any) -> list[tuple[str, tuple[str, ...]]]:
    section = TrainingSection.model_validate({"output_dir": "runs/a", **training})
    found = check_output_dir(section, base_dir=base, overwrite=overwrite)
    assert all(d.severity == "error" for d in found)
    return [(d.type, tuple(map(str, d.loc))) for d in found]


def _occupy(base: Path, *names: str) -> Path:
    out = base / "runs" / "a"
    out.mkdir(parents=True)
    for name in names:
        if name.startswith("checkpoint-"):
            (out / name).mkdir()
            (out / name / "trainer_state.json").write_text("{}")
        else:
            (out / name).write_text("x")
    return out


@pytest.mark.parametrize("resume", ["never", "auto"])
def test_missing_or_empty_output_dir_is_fine(tmp_path: Path, resume: str) -> None:
    assert _check(tmp_path, resume=resume) == []
    (tmp_path / "runs" / "a").mkdir(parents=True)
    assert _check(tmp_path, resume=resume) == []


def test_occupied_output_dir_is_an_error_naming_its_files(tmp_path: Path) -> None:
    _occupy(tmp_path, "notes.txt", "checkpoint-10")
    section = TrainingSection.model_validate({"output_dir": "runs/a"})
    [found] = check_output_dir(section, base_dir=tmp_path, overwrite=False)
    assert (found.type, found.loc) == ("output_dir_occupied", OUTPUT)
    assert "(it holds checkpoint-10/, notes.txt)" in found.message
    assert "--overwrite" in found.message


def test_overwrite_allows_an_occupied_dir(tmp_path: Path) -> None:
    _occupy(tmp_path, "notes.txt")
    assert _check(tmp_path, overwrite=True) == []


def test_resume_auto_needs_a_complete_checkpoint(tmp_path: Path) -> None:
    out = _occupy(tmp_path, "notes.txt")
    assert _check(tmp_path, resume="auto") == [("output_dir_occupied", OUTPUT)]
    (out / "checkpoint-5").mkdir()  # cut off before trainer_state.json: not resumable
    assert _check(tmp_path, resume="auto") == [("output_dir_occupied", OUTPUT)]
    (out / "checkpoint-5" / "trainer_state.json").write_text("{}")
    assert _check(tmp_path, resume="auto") == []


def test_resume_path_must_be_a_checkpoint(tmp_path: Path) -> None:
    out = _occupy(tmp_path, "checkpoint-20")
    assert _check(tmp_path, resume="./runs/a/checkpoint-20") == []
    assert _check(tmp_path, resume="./runs/a/checkpoint-99") == [
        ("resume_checkpoint_missing", RESUME)
    ]
    (out / "stray").mkdir()
    assert _check(tmp_path, resume="./runs/a/stray") == [("resume_checkpoint_missing", RESUME)]


def test_output_dir_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "a").write_text("x")
    assert _check(tmp_path, overwrite=True) == [("output_dir_is_file", OUTPUT)]
