"""Plot training loss, eval loss and learning rate over steps from a run's `trainer_state.json`.

`gkd plot RUN_DIR` and the end of `gkd run` (`after_training`) use it. The figure is
drawn with matplotlib's Agg canvas directly, so no display and no global backend
switch are needed (works headless, and leaves a notebook's backend alone).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gkd_schema.runner.train.hooks import RunContext

TRAINER_STATE = "trainer_state.json"
PLOT_FILE = "training_curves.png"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


class PlotError(Exception):
    """The run directory has nothing to plot; the message says why."""


@dataclass
class Curves:
    """Logged values by optimizer step.

    Attributes:
        train_loss: `(step, loss)` of each training log entry.
        eval_loss: `(step, eval_loss)` of each evaluation.
        learning_rate: `(step, learning rate)` of each training log entry.
    """

    train_loss: list[tuple[int, float]] = field(default_factory=list)
    eval_loss: list[tuple[int, float]] = field(default_factory=list)
    learning_rate: list[tuple[int, float]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.train_loss or self.eval_loss or self.learning_rate)


def find_trainer_state(run_dir: Path) -> Path:
    """The run's `trainer_state.json`: at the top (a finished run) or in its newest checkpoint.

    Raises:
        PlotError: Neither exists.
    """
    top = run_dir / TRAINER_STATE
    if top.is_file():
        return top
    checkpoints = sorted(
        (int(m.group(1)), p)
        for p in run_dir.iterdir()
        if (m := _CHECKPOINT.match(p.name)) and (p / TRAINER_STATE).is_file()
    ) if run_dir.is_dir() else []
    if not checkpoints:
        raise PlotError(
            f"{run_dir} has no {TRAINER_STATE} (nor a checkpoint with one); "
            "is it a `training.output_dir` of a run that saved?"
        )
    return checkpoints[-1][1] / TRAINER_STATE


def _number(value: Any) -> float | None:
    """A finite float from a logged value, or None (logs may hold strings or NaN)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def read_curves(state_path: Path) -> Curves:
    """Collect the curves from a `trainer_state.json` (the HF Trainer's `log_history`).

    Raises:
        PlotError: The file is not readable JSON with a `log_history` list.
    """
    try:
        history = json.loads(state_path.read_text(encoding="utf-8"))["log_history"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PlotError(f"{state_path} is not a trainer state with a log_history: {exc}") from exc
    if not isinstance(history, list):
        raise PlotError(f"{state_path}: log_history is not a list")
    curves = Curves()
    for entry in history:
        if not isinstance(entry, dict) or (step := _number(entry.get("step"))) is None:
            continue
        for key, series in (
            ("loss", curves.train_loss),
            ("eval_loss", curves.eval_loss),
            ("learning_rate", curves.learning_rate),
        ):
            if (value := _number(entry.get(key))) is not None:
                series.append((int(step), value))
    return curves


def plot_curves(curves: Curves, output: Path, title: str = "") -> Path:
    """Draw loss (train and eval) and learning rate over steps into a PNG.

    Args:
        curves: What `read_curves` found; must not be empty.
        output: The PNG to write (its folder is created).
        title: Shown above the plots.

    Returns:
        `output`.

    Raises:
        ImportError: matplotlib is missing; the message says what to install.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("plotting needs matplotlib: pip install 'gkd[train]'") from exc

    fig = Figure(figsize=(8, 6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    loss_ax, lr_ax = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    for points, label, style in (
        (curves.train_loss, "train loss", "-"),
        (curves.eval_loss, "eval loss", "o-"),
    ):
        if points:
            loss_ax.plot(*zip(*points, strict=True), style, label=label, markersize=4)
    losses = [v for _, v in curves.train_loss + curves.eval_loss]
    # GKD losses fall by orders of magnitude: a log scale keeps the tail readable.
    if losses and min(losses) > 0 and max(losses) / min(losses) > 10:
        loss_ax.set_yscale("log")
    loss_ax.set_ylabel("distillation loss")
    if losses:
        loss_ax.legend()
    loss_ax.grid(True, alpha=0.3)
    if curves.learning_rate:
        lr_ax.plot(*zip(*curves.learning_rate, strict=True), color="tab:green")
    lr_ax.set_ylabel("learning rate")
    lr_ax.set_xlabel("step")
    lr_ax.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title)
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, format="png")
    return output


def plot_run(run_dir: Path, output: Path | None = None) -> Path:
    """Plot a run directory's curves.

    Args:
        run_dir: A `training.output_dir`.
        output: The PNG; `RUN_DIR/training_curves.png` when None.

    Returns:
        The PNG written.

    Raises:
        PlotError: No trainer state, or it logged nothing to plot.
    """
    state = find_trainer_state(run_dir)
    curves = read_curves(state)
    if not curves:
        raise PlotError(f"{state} logged no loss or learning rate yet; nothing to plot")
    return plot_curves(curves, output or run_dir / PLOT_FILE, title=run_dir.resolve().name)


def after_training(context: RunContext) -> None:
    """`gkd run` hook: write `training_curves.png` into the output directory."""
    path = plot_run(context.output_dir)
    context.echo(f"Loss and learning-rate curves: {path}")
