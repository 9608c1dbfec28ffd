"""`gkd eval`: score the student (and the teacher, for reference) on held-out prompts.

Thin by design: the work is in `gkd_schema.runner.eval.scoring` and `eval_targets`,
imported only inside the command so `gkd --help` never loads torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gkd_schema.cli.options import SET_OPTION, read_overrides, usage_error
from gkd_schema.config.reporting import render_reports
from gkd_schema.config.validation import validate_file

if TYPE_CHECKING:
    from gkd_schema.runner.eval.targets import EvalPlan

FORMATS = ("text", "json")


def eval_command(
    target: Path = typer.Argument(
        ...,
        metavar="CONFIG_OR_RUN_DIR",
        help="A run config (scores its starting student) or a run's output_dir (scores the "
        "student before and after training).",
        show_default=False,
    ),
    split: str = typer.Option(
        "eval", "--split", metavar="<eval|train>", help="Data split to score: `eval` or `train`."
    ),
    output_format: str = typer.Option(
        "text", "--format", "-f", metavar="<text|json>", help="`text` (a table) or `json` (for machines)."
    ),
    student: str | None = typer.Option(
        None, "--student", help="Score this model (a path or Hub id) as the student instead."
    ),
    max_samples: int = typer.Option(
        200, "--max-samples", min=1, help="Score at most this many conversations (the first ones)."
    ),
    max_new_tokens: int | None = typer.Option(
        None,
        "--max-new-tokens",
        min=1,
        help="Longest greedy completion; the config's `gkd.max_new_tokens` by default.",
    ),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="Prompts per forward pass."),
    sets: list[str] | None = SET_OPTION,
) -> None:
    """Score student and teacher on held-out prompts.

    For each model: exact match against the dataset's answers, greedy agreement with
    the teacher, and mean per-token forward KL, reverse KL and JSD to the teacher on
    the model's own greedy completions and on the dataset's. Exit 0 scored, 1 invalid
    config or failed evaluation, 2 usage error.
    """
    if output_format not in FORMATS:
        raise usage_error(f"--format must be text or json, not {output_format!r}")
    if not target.exists():
        raise usage_error(f"no such file or directory: {target}")
    overrides = read_overrides(sets)

    from gkd_schema.runner.eval.targets import EvalTargetError, config_path_for, plan_eval

    try:
        config_path = config_path_for(target)
    except EvalTargetError as exc:
        raise usage_error(str(exc)) from None
    report = validate_file(config_path, overrides)
    if report.config is None:
        typer.echo(render_reports([report], "json" if output_format == "json" else "text"), err=True)
        raise typer.Exit(1)
    try:
        plan = plan_eval(target, report.config, split=split, student=student)
    except EvalTargetError as exc:
        raise usage_error(str(exc)) from None
    _score(plan, output_format, max_samples, max_new_tokens, batch_size)


def _score(
    plan: EvalPlan, output_format: str, limit: int, max_new_tokens: int | None, batch_size: int
) -> None:
    """Load and score; map failures to exit 1 with one sentence."""
    from gkd_schema.runner.eval.report import build_table, render_json
    from gkd_schema.runner.eval.targets import EvalTargetError, run_eval
    from gkd_schema.runner.train.data_loading import DataError

    try:
        result = run_eval(
            plan, base_dir=Path.cwd(), limit=limit, max_new_tokens=max_new_tokens, batch_size=batch_size
        )
    except (DataError, EvalTargetError, OSError, ValueError) as exc:
        typer.echo(f"gkd eval: {exc}", err=True)
        raise typer.Exit(1) from None
    if output_format == "json":
        typer.echo(render_json(result))
        return
    from rich.console import Console

    Console().print(build_table(result, title=f"gkd eval ({plan.split} split)"))


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("eval")(eval_command)
