"""The rows of `gpu_acceptance.py`: each one short run, measured the same way.

Rows 1-6 are `gkd run` (the library call behind the command) with one knob changed;
rows 7-8 are TRL's GKDTrainer with its own defaults. Every row records its step times,
the on-policy tokens generated per second of generation, the peak GPU memory, the
preflight's memory estimate for the same run, and the last logged loss.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from step_time_sides import Timing, instrument

SEED = 0


@dataclass(frozen=True)
class Row:
    """One acceptance run."""

    number: int
    name: str
    kind: str  # "gkd" or "trl"
    loss: str = "chunked"
    lmbda: float = 1.0
    gradient_checkpointing: bool = False


ROWS: tuple[Row, ...] = (
    Row(1, "gkd chunked, lmbda 0", "gkd", lmbda=0.0),
    Row(2, "gkd chunked, lmbda 1", "gkd"),
    Row(3, "gkd fused, lmbda 1", "gkd", loss="fused"),
    Row(4, "gkd trl loss, lmbda 1", "gkd", loss="trl"),
    Row(5, "gkd liger, lmbda 1", "gkd", loss="liger"),
    Row(6, "gkd chunked, lmbda 1, gradient checkpointing", "gkd", gradient_checkpointing=True),
    Row(7, "TRL GKDTrainer defaults, lmbda 1", "trl", loss="trl", gradient_checkpointing=True),
    Row(8, "TRL GKDTrainer defaults, lmbda 0", "trl", loss="trl", lmbda=0.0, gradient_checkpointing=True),
)


@dataclass(frozen=True)
class Budget:
    """How much each row runs: GPU rows fit 8 minutes in all, smoke rows seconds."""

    steps: int
    batch: int
    max_new_tokens: int
    max_length: int


BUDGETS = {"gpu": Budget(steps=8, batch=8, max_new_tokens=64, max_length=512),
           "smoke": Budget(steps=3, batch=2, max_new_tokens=8, max_length=160)}


def _config(row: Row, workdir: Path, budget: Budget) -> Any:
    from gkd_schema.models import RunConfig

    return RunConfig.model_validate(
        {
            "model": {"name_or_path": str(workdir / "student")},
            "gkd": {
                "teacher_model_name_or_path": str(workdir / "teacher"),
                "lmbda": row.lmbda,
                "max_new_tokens": budget.max_new_tokens,
                "loss_implementation": row.loss,
            },
            "data": {"train": {"path": str(workdir / "train.jsonl")}},
            "training": {
                "output_dir": str(workdir / f"out-row{row.number}"),
                "max_steps": budget.steps,
                "per_device_train_batch_size": budget.batch,
                "max_length": budget.max_length,
                "gradient_checkpointing": row.gradient_checkpointing,
                "logging_steps": 1,
                "save_strategy": "no",
                "seed": SEED,
            },
        }
    )


def memory_estimate(row: Row, workdir: Path, budget: Budget) -> float | None:
    """The preflight's estimate for this row's run, in GiB (TRL rows: its loss and settings)."""
    from gkd_schema.runner.preflight.device_memory import device_memory
    from gkd_schema.runner.preflight.memory_check import CheckedModel, estimate_run_memory
    from gkd_schema.runner.preflight.weights import read_config

    models = [CheckedModel(workdir / role, read_config(workdir / role) or {}) for role in ("student", "teacher")]
    estimate = estimate_run_memory(_config(row, workdir, budget), *models, device_memory())
    return estimate.total / 1024**3 if estimate is not None else None


def _run_gkd(row: Row, workdir: Path, budget: Budget, clock: Any) -> list[float]:
    from transformers import TrainerCallback

    from gkd_schema.runner.train.run import execute

    logs: list[Any] = []

    class KeepLogs(TrainerCallback):  # type: ignore[misc]
        def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            logs.extend(state.log_history)

    code = execute(_config(row, workdir, budget), base_dir=workdir, overwrite=True, echo=lambda _l: None,
                   callbacks=[clock, KeepLogs()])
    if code != 0:
        raise RuntimeError(f"gkd run exited {code}")
    return [e["loss"] for e in logs if "loss" in e]


def _run_trl(row: Row, workdir: Path, budget: Budget, clock: Any) -> list[float]:
    import torch
    from datasets import load_dataset
    from transformers import AutoTokenizer

    from gkd_schema.runner.preflight.trl_compat import gkd_classes

    config_cls, trainer_cls = gkd_classes()
    args = config_cls(
        output_dir=str(workdir / f"out-row{row.number}"),
        max_steps=budget.steps,
        per_device_train_batch_size=budget.batch,
        max_new_tokens=budget.max_new_tokens,
        max_length=budget.max_length,
        lmbda=row.lmbda,
        seed=SEED,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        **({} if torch.cuda.is_available() else {"use_cpu": True}),
    )
    trainer = trainer_cls(
        model=str(workdir / "student"),
        teacher_model=str(workdir / "teacher"),
        args=args,
        train_dataset=load_dataset("json", data_files=str(workdir / "train.jsonl"), split="train"),
        processing_class=AutoTokenizer.from_pretrained(str(workdir / "student")),
        callbacks=[clock],
    )
    trainer.train()
    return [e["loss"] for e in trainer.state.log_history if "loss" in e]


def run_row(row: Row, workdir: Path, scale: str) -> dict[str, Any]:
    """Run one row in this process and return its measurements."""
    import torch

    if row.loss == "liger":
        import importlib.util

        if importlib.util.find_spec("liger_kernel") is None or not torch.cuda.is_available():
            return {"row": row.number, "name": row.name, "skipped": "liger-kernel or CUDA not available"}
    budget = BUDGETS[scale]
    timing = Timing()
    clock = instrument(timing)
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    losses = (_run_gkd if row.kind == "gkd" else _run_trl)(row, workdir, budget, clock)
    steps = timing.steps[1:] or timing.steps  # the first step pays for lazy initialisation
    generation = sum(timing.generation)
    return {
        "row": row.number,
        "name": row.name,
        "steps": len(timing.steps),
        "step_mean_s": statistics.fmean(steps),
        "step_median_s": statistics.median(steps),
        "gen_tokens_per_s": timing.tokens / generation if generation > 0 else None,
        "peak_gib": torch.cuda.max_memory_allocated() / 1024**3 if torch.cuda.is_available() else None,
        "estimate_gib": memory_estimate(row, workdir, budget),
        "final_loss": losses[-1] if losses else None,
        "wall_s": time.perf_counter() - started,
    }
