"""`gkd plot`: curves from a trainer state into a PNG; exit codes."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gkd_schema.cli.app import app
from gkd_schema.runner.eval.plotting import find_trainer_state, read_curves

pytest.importorskip("matplotlib")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_state(run_dir: Path, steps: int = 20, *, eval_every: int = 5) -> Path:
    """A `trainer_state.json` shaped like the HF Trainer's, with train and eval logs."""
    history: list[dict[str, object]] = []
    for step in range(1, steps + 1):
        history.append({"step": step, "loss": 1.0 / step, "learning_rate": 1e-3 * (1 - step / steps), "grad_norm": 0.5})
        if step % eval_every == 0:
            history.append({"step": step, "eval_loss": 1.2 / step, "eval_runtime": 0.1})
    history.append({"step": steps, "train_runtime": 3.0, "train_loss": 0.2})
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "trainer_state.json"
    path.write_text(json.dumps({"global_step": steps, "log_history": history}))
    return path


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG header, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_read_curves_splits_train_eval_and_learning_rate(tmp_path: Path) -> None:
    curves = read_curves(write_state(tmp_path, steps=10))
    assert [s for s, _ in curves.train_loss] == list(range(1, 11))
    assert curves.eval_loss == [(5, pytest.approx(1.2 / 5)), (10, pytest.approx(1.2 / 10))]
    assert len(curves.learning_rate) == 10


def test_logged_strings_and_nans_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "trainer_state.json"
    path.write_text(json.dumps({"log_history": [
        {"step": 1, "loss": "0.5"}, {"step": 2, "loss": float("nan")}, {"loss": 0.1}, "junk"
    ]}))
    assert read_curves(path).train_loss == [(1, 0.5)]


def test_newest_complete_checkpoint_is_used_without_a_final_state(tmp_path: Path) -> None:
    write_state(tmp_path / "checkpoint-5", steps=5)
    write_state(tmp_path / "checkpoint-10", steps=10)
    (tmp_path / "checkpoint-15").mkdir()  # cut off before its trainer state was written
    assert find_trainer_state(tmp_path) == tmp_path / "checkpoint-10" / "trainer_state.json"


def test_plot_writes_a_png_into_the_run_dir(tmp_path: Path) -> None:
    write_state(tmp_path)
    result = CliRunner().invoke(app, ["plot", str(tmp_path)])
    assert result.exit_code == 0, result.output
    png = tmp_path / "training_curves.png"
    assert str(png) in result.output
    assert png_size(png) == (800, 600)
    assert png.stat().st_size > 10_000  # axes, two curves and labels, not a blank image


def test_plot_output_option(tmp_path: Path) -> None:
    write_state(tmp_path / "run")
    out = tmp_path / "plots" / "curves.png"
    result = CliRunner().invoke(app, ["plot", str(tmp_path / "run"), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert png_size(out)[0] > 0


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("missing", 2),  # no such directory: usage error
        ("empty_dir", 1),  # not a run: nothing to plot
        ("no_logs", 1),  # a run that logged nothing yet
        ("bad_json", 1),
    ],
)
def test_plot_exit_codes(tmp_path: Path, setup: str, code: int) -> None:
    run_dir = tmp_path / "run"
    if setup != "missing":
        run_dir.mkdir()
    if setup == "no_logs":
        (run_dir / "trainer_state.json").write_text(json.dumps({"log_history": []}))
    if setup == "bad_json":
        (run_dir / "trainer_state.json").write_text("{not json")
    result = CliRunner().invoke(app, ["plot", str(run_dir)])
    assert result.exit_code == code
    assert "Traceback" not in result.output
    assert not (run_dir / "training_curves.png").exists()
