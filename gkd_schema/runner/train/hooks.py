"""Extension points of a run: what is called after the trainer is built and after the save.

`execute` takes a sequence of `RunHook`s; the command line passes the eval stage's
(`gkd_schema.runner.eval.run_hooks.RUN_HOOKS`: the before/after evaluation tables and
the loss plot), so this stage never imports the stages above it. `before_training`
runs after the trainer is built and before the first step; `after_training` after the
final model is saved.

Only the main process calls them. A hook that raises is reported as a warning and
never fails a finished run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gkd_schema.models import RunConfig


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
        model_card: Markdown sections by title that `after_training` hooks add to the
            model card written (and pushed) after them.
    """

    config: RunConfig
    output_dir: Path
    trainer: Any
    tokenizer: Any
    train_dataset: Any
    eval_dataset: Any
    echo: Callable[[str], None]
    resume_from: Path | None = None
    model_card: dict[str, str] = field(default_factory=dict)


Stage = Literal["before_training", "after_training"]


@dataclass(frozen=True)
class RunHook:
    """A named pair of optional callbacks around training.

    Attributes:
        name: Shown in the warning when a callback fails.
        before_training: Called with the run's context before the first step.
        after_training: Called with the run's context after the final save.
    """

    name: str
    before_training: Callable[[RunContext], None] | None = None
    after_training: Callable[[RunContext], None] | None = None


def call_hooks(stage: Stage, context: RunContext, hooks: Sequence[RunHook]) -> None:
    """Call `stage` of each hook that has one; a failure is a warning, never an error."""
    for hook in hooks:
        callback = getattr(hook, stage)
        if callback is None:
            continue
        try:
            callback(context)
        except Exception as exc:  # a report must not fail a finished run
            context.echo(f"warning: {hook.name}.{stage} failed: {exc}")
