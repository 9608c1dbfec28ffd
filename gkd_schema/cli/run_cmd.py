"""`gkd run`: validate, preflight, then distil and save (or `--dry-run`).

Thin by design: the work is in `gkd_schema.runner`, imported only inside the command
so `gkd --help` and `gkd validate` never load torch, transformers or TRL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from gkd_schema.cli.options import (
    OFFLINE_OPTION,
    SET_OPTION,
    check_config_paths,
    read_overrides,
    require_training_extra,
    usage_error,
)
from gkd_schema.config.reporting import render_reports
from gkd_schema.config.validation import validate_file


def run(
    config: Path = typer.Argument(..., metavar="CONFIG", help="The run config.", show_default=False),
    sets: list[str] | None = SET_OPTION,
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Check everything and print the exact TRL arguments and what would be loaded; "
        "load no weights, write nothing.",
    ),
    overwrite: bool = typer.Option(
        False,
        "--overwrite",
        help="Replace a previous run in a non-empty `output_dir` (its checkpoints and "
        "outputs are removed; other files are kept).",
    ),
    num_processes: int = typer.Option(
        1,
        "--num-processes",
        min=1,
        help="Processes to train with on this machine (one per GPU), via `accelerate launch`.",
    ),
    accelerate_config: Path | None = typer.Option(
        None,
        "--accelerate-config",
        help="An `accelerate config` file (DeepSpeed, FSDP, multi-node); implies a launch.",
    ),
    output_format: str = typer.Option(
        "text",
        "--format",
        "-f",
        metavar="<text|json|github>",
        help="How config errors are printed: `text`, `json` or `github`.",
    ),
    offline: bool = OFFLINE_OPTION,
) -> None:
    """Distil the teacher into the student as CONFIG says, and save the result.

    Validates (as `gkd validate`), preflights (as `gkd validate --deep`), then trains
    with TRL's GKD trainer. Exit 0 finished, 1 invalid config or failed run,
    2 usage error, 130 stopped by Ctrl-C (resume with `training.resume: auto`).
    """
    if output_format not in ("text", "json", "github"):
        raise usage_error(f"--format must be text, json or github, not {output_format!r}")
    fmt: Literal["text", "json", "github"] = output_format  # type: ignore[assignment]
    check_config_paths([config])
    if accelerate_config is not None:
        check_config_paths([accelerate_config])
    overrides = read_overrides(sets)
    require_training_extra("gkd run")

    from gkd_schema.runner.launch.relaunch import has_accelerator, is_main_process_env, relaunch

    if accelerate_config is not None:  # a dry run says so too: the real run would fail
        from gkd_schema.runner.launch.accelerate_config import accelerate_config_problem

        if problem := accelerate_config_problem(accelerate_config, has_gpu=has_accelerator()):
            typer.echo(f"gkd run: {problem}", err=True)
            raise typer.Exit(1)

    main = is_main_process_env()
    report = validate_file(config, overrides)
    plan = None
    if report.config is not None:
        from gkd_schema.runner.preflight.checklist import check_run

        check = check_run(report.config, base_dir=Path.cwd(), overwrite=overwrite, offline=offline)
        for diagnostic in check.diagnostics:
            report.add(diagnostic)
        plan = check.plan
    if not report.valid or report.warnings:
        output = render_reports([report], fmt)
        if output and main:
            typer.echo(output, err=not report.valid)
    if not report.valid or report.config is None or plan is None:
        raise typer.Exit(1)

    from gkd_schema.runner.eval.run_hooks import RUN_HOOKS
    from gkd_schema.runner.preflight.run_plan import RunSetupError
    from gkd_schema.runner.train.errors import RunFailedError
    from gkd_schema.runner.train.run import execute

    launch = not dry_run and (num_processes > 1 or accelerate_config is not None)
    try:
        code = execute(
            report.config,
            plan=plan,
            base_dir=Path.cwd(),
            overwrite=overwrite,
            dry_run=dry_run or launch,
            echo=typer.echo if not launch else (lambda _line: None),
            hooks=RUN_HOOKS,
        )
    except RunSetupError as exc:
        for diagnostic in exc.diagnostics:
            report.add(diagnostic)
        if main:
            typer.echo(render_reports([report], fmt), err=True)
        raise typer.Exit(1) from None
    except RunFailedError as exc:
        typer.echo(f"gkd run: {exc}", err=True)
        raise typer.Exit(1) from None
    if launch:
        child_args = [arg for s in sets or () for arg in ("--set", s)]
        child_args += ["--overwrite"] if overwrite else []
        child_args += ["--offline"] if offline else []
        code = relaunch(
            config,
            child_args,
            num_processes=num_processes,
            accelerate_config=accelerate_config,
        )
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("run")(run)
