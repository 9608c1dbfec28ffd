"""Trainer callbacks of a gkd run: step timing, clean Ctrl-C stop, decision logs."""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import TrainerCallback
from transformers.trainer_callback import ProgressCallback

from gkd_schema.runner.train.interrupt import InterruptFlag, agree_across_processes
from gkd_schema.runner.train.on_policy_record import OnPolicyRecord


@dataclass
class StepTimes:
    """Wall time and generation time of each optimizer step."""

    seconds: list[float] = field(default_factory=list)
    generation: list[float] = field(default_factory=list)

    def _timed(self, skip_first: bool) -> list[float]:
        return self.seconds[1:] if skip_first and len(self.seconds) > 1 else self.seconds

    def median(self, skip_first: bool = True) -> float | None:
        """Median step time; the first step (warm-up, lazy init) is left out when possible."""
        values = self._timed(skip_first)
        return statistics.median(values) if values else None

    def mean(self, skip_first: bool = True) -> float | None:
        """Mean step time, with the same first step left out."""
        values = self._timed(skip_first)
        return statistics.fmean(values) if values else None

    def generation_share(self) -> float | None:
        """Fraction of step time spent generating on-policy (or seq_kd) completions."""
        total = sum(self.seconds)
        return sum(self.generation) / total if total > 0 else None


class StepTimer(TrainerCallback):
    """Measures each optimizer step and the share spent in generation."""

    def __init__(self, record: OnPolicyRecord) -> None:
        self.record = record
        self.times = StepTimes()
        self._start = 0.0
        self._gen_start = 0.0

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Start the clock."""
        self._start = time.perf_counter()
        self._gen_start = self.record.generation_seconds

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Stop the clock."""
        self.times.seconds.append(time.perf_counter() - self._start)
        self.times.generation.append(self.record.generation_seconds - self._gen_start)


class StopOnInterrupt(TrainerCallback):
    """Turns a Ctrl-C request into "save a checkpoint and stop" at a step boundary."""

    def __init__(self, flag: InterruptFlag, device: Any) -> None:
        self.flag = flag
        self.device = device
        self.stopped_at: int | None = None

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Stop (on every process together) once any process saw Ctrl-C."""
        if agree_across_processes(self.flag.requested, self.device):
            self.flag.requested = True
            self.stopped_at = state.global_step
            control.should_training_stop = True
            control.should_save = args.save_strategy != "no"


class DecisionLog(TrainerCallback):
    """Appends each process's on-policy decisions to `on_policy_decisions/rank<N>.jsonl`.

    One line per micro-batch: `{"step": .., "micro": .., "on_policy": ..}`. Identical
    files across ranks are the evidence that processes agreed.
    """

    def __init__(self, record: OnPolicyRecord, output_dir: Path, rank: int) -> None:
        self.record = record
        self.path = output_dir / "on_policy_decisions" / f"rank{rank}.jsonl"
        self._written = 0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """On a resume, drop the rows of steps the checkpoint does not hold (they replay).

        A run killed after step N but before its next checkpoint logged steps that the
        resumed run makes again; a kill mid-write can also leave half a line.
        """
        if not self.path.is_file():
            return
        kept = []
        for line in self.path.read_text("utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and isinstance(row.get("step"), int) and row["step"] < state.global_step:
                kept.append(line)
        self.path.write_text("".join(f"{line}\n" for line in kept), "utf-8")

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Write the decisions made since the last step."""
        new = self.record.decisions[self._written :]
        if not new:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            for step, micro, on_policy in new:
                fh.write(json.dumps({"step": step, "micro": micro, "on_policy": on_policy}) + "\n")
        self._written = len(self.record.decisions)


class ReadableProgress(ProgressCallback):
    """The Trainer's progress bar, with its log dicts written as one readable line.

    `step 25: loss 0.4219, grad_norm 0.5825, learning_rate 0.0021, epoch 0.08` instead of
    `{'loss': '0.4219', ...}`; the end-of-training totals are left to gkd's summary.
    """

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        """Write one line per log event above the bar."""
        if not state.is_world_process_zero or self.training_bar is None or not logs:
            return
        if "train_runtime" in logs:
            return
        shown = ", ".join(
            f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
            for key, value in logs.items()
            if key != "total_flos"
        )
        self.training_bar.write(f"step {state.global_step}: {shown}")
