"""What `gkd run` is handed to call around training: the evaluation tables and the loss plot.

Before the first step the teacher and the untrained student are scored on the held-out
split; after the final save the trained student is scored beside them (both tables are
kept in `output_dir/gkd_eval.json`, and the second goes into the model card), then the
loss curve is plotted. The train stage knows only `RunHook`; the command line passes
`RUN_HOOKS` in.
"""

from __future__ import annotations

import json
from typing import Any

from gkd_schema.runner.eval import plotting
from gkd_schema.runner.eval.across_tokenizers import evaluate_across_tokenizers
from gkd_schema.runner.eval.report import render_markdown, render_summary, render_text
from gkd_schema.runner.eval.scoring import EvalResult, evaluate_models
from gkd_schema.runner.train.hooks import RunContext, RunHook

EVAL_FILE = "gkd_eval.json"
CARD_SECTION = "Evaluation before and after training (held-out prompts)"


def _eval_rows(context: RunContext, stage: str) -> Any:
    """The held-out rows of a run, or None (after saying, once, why nothing is scored)."""
    trainer = context.trainer
    sharded = getattr(trainer, "is_deepspeed_enabled", False) or getattr(
        trainer, "is_fsdp_enabled", False
    )
    if sharded and getattr(trainer.accelerator, "num_processes", 1) > 1:
        # Hooks run on the main process only; a forward pass over sharded weights there
        # would wait forever for the other ranks.
        if stage == "before":
            context.echo(
                "Sharded multi-process training: skipping the evaluation tables; run "
                f"`gkd eval {context.output_dir}` after the run."
            )
        return None
    if context.config is not None and context.config.teacher.backend == "server":
        if stage == "before" and context.eval_dataset is not None:
            context.echo(
                "The teacher is served (`teacher.backend: server`): skipping the evaluation tables, which "
                f"need its full distribution; run `gkd eval {context.output_dir}` where the teacher loads."
            )
        return None
    if context.eval_dataset is None and stage == "before":
        context.echo("No `data.eval` split: skipping the held-out evaluation table.")
    return context.eval_dataset


def _score_student(context: RunContext, rows: Any, label: str) -> EvalResult:
    """The teacher and the trainer's student, as `label`, on the held-out rows."""
    trainer = context.trainer
    cross = getattr(trainer, "cross_tokenizer", None)
    if cross is not None:
        return evaluate_across_tokenizers(
            {label: trainer.model},
            trainer.teacher_model,
            context.tokenizer,
            cross.teacher_tokenizer,
            rows,
            max_new_tokens=context.config.gkd.max_new_tokens,
        )
    return evaluate_models(
        {label: trainer.model},
        trainer.teacher_model,
        context.tokenizer,
        rows,
        max_new_tokens=context.config.gkd.max_new_tokens,
    )


def before_training(context: RunContext) -> None:
    """`gkd run` hook: score the teacher and the untrained student, print and keep the table."""
    rows = _eval_rows(context, "before")
    if rows is None:
        return
    result = _score_student(context, rows, "student (before)")
    (context.output_dir / EVAL_FILE).write_text(json.dumps({"before": result.to_dict()}, indent=2))
    context.echo(render_text(result, title="Before training (held-out prompts)"))


def after_training(context: RunContext) -> None:
    """`gkd run` hook: score the trained student and print it next to the teacher and the start."""
    rows = _eval_rows(context, "after")
    if rows is None:
        return
    path = context.output_dir / EVAL_FILE
    saved = json.loads(path.read_text()) if path.exists() else {}
    after = _score_student(context, rows, "student (after)")
    table = after
    if "before" in saved:
        before = EvalResult.from_dict(saved["before"])
        table = before.with_models(*after.models[1:])
    path.write_text(json.dumps(saved | {"after": after.to_dict()}, indent=2))
    context.echo(render_text(table, title="Before and after training (held-out prompts)"))
    context.model_card[CARD_SECTION] = render_markdown(table)
    summary = render_summary(table)
    if summary:
        context.echo(summary)


RUN_HOOKS: tuple[RunHook, ...] = (
    RunHook("evaluation", before_training=before_training, after_training=after_training),
    RunHook("plotting", after_training=plotting.after_training),
)
