"""Never write a run into a directory that already holds another run's files.

The rule itself lives in `gkd_schema.runner.preflight.output_plan.plan_output`, which `gkd run`
applies when it starts; preflight asks the same function so the two can never
disagree. In short: a non-empty `training.output_dir` is an error unless the run
resumes (`resume: auto` needs a complete `checkpoint-N` there; a checkpoint path must
be a complete checkpoint) or `--overwrite` is given.
"""

from __future__ import annotations

from pathlib import Path

from gkd_schema.config.diagnostics import Diagnostic
from gkd_schema.models import TrainingSection
from gkd_schema.runner.preflight.locate import resolve_path
from gkd_schema.runner.preflight.output_plan import OutputDirError, named_checkpoint, plan_output


def check_output_dir(
    training: TrainingSection, *, base_dir: Path, overwrite: bool
) -> list[Diagnostic]:
    """Check that the run may write to `training.output_dir`, as `gkd run` will.

    Args:
        training: The `training` section.
        base_dir: Where relative paths start.
        overwrite: `--overwrite` was given: an occupied directory is allowed.

    Returns:
        At most one error: an occupied directory, a file in its place, or a checkpoint
        to resume from that is missing or incomplete.
    """
    output_dir = resolve_path(training.output_dir, base_dir)
    try:
        plan_output(output_dir, training.resume, overwrite=overwrite, base_dir=base_dir)
    except OutputDirError as exc:
        return [exc.diagnostic]
    return []


def check_resume(training: TrainingSection, *, base_dir: Path) -> list[Diagnostic]:
    """The `training.resume` checkpoint alone, for `gkd validate --deep` (no `--overwrite` there)."""
    if training.resume in ("never", "auto"):
        return []
    try:
        named_checkpoint(training.resume, base_dir)
    except OutputDirError as exc:
        return [exc.diagnostic]
    return []
