"""Optional extension points of a run: evaluation tables and plots (issue 6).

`gkd run` calls, when the module exists and defines them:

- `gkd_schema.runner.evaluation.before_training(context)` after the trainer is built
  and before the first step (the "before" eval table);
- `gkd_schema.runner.evaluation.after_training(context)` after the final model is
  saved (the "after" table);
- `gkd_schema.runner.plotting.after_training(context)` after that (the loss plot into
  `context.output_dir`).

Only the main process calls them. A hook that raises is reported as a warning and
never fails a finished run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gkd_schema.models import RunConfig

HOOK_MODULES = ("gkd_schema.runner.evaluation", "gkd_schema.runner.plotting")


@dataclass
class RunContext:
    """What a hook gets: everything the run built.

    Attributes:
        config: The validated run config.
        output_dir: Where the run writes.
        trainer: The GKD trainer (student: `trainer.model`, teacher:
            `trainer.teacher_model`, logs: `trainer.state.log_history`).
        tokenizer: The student's tokenizer.
        train_dataset: Training conversations (`messages` column).
        eval_dataset: Held-out conversations, or None.
        echo: Print a line to the user's console.
        resume_from: The checkpoint this run resumed from, or None for a fresh start
            (a "before training" table of a resumed run scores a partly trained student).
    """

    config: RunConfig
    output_dir: Path
    trainer: Any
    tokenizer: Any
    train_dataset: Any
    eval_dataset: Any
    echo: Callable[[str], None]
    resume_from: Path | None = None


def _find(module_name: str, stage: str) -> Callable[[RunContext], Any] | None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    hook = getattr(module, stage, None)
    return hook if callable(hook) else None


def call_hooks(stage: str, context: RunContext) -> None:
    """Call `stage` (`before_training` / `after_training`) in each hook module present."""
    for module_name in HOOK_MODULES:
        hook = _find(module_name, stage)
        if hook is None:
            continue
        try:
            hook(context)
        except Exception as exc:  # a report must not fail a finished run
            context.echo(f"warning: {module_name}.{stage} failed: {exc}")
