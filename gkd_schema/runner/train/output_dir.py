"""Carry out an output-directory plan: clear what a previous run wrote, and nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

from gkd_schema.runner.preflight.output_plan import CHECKPOINT_RE, RUN_ARTIFACTS


def clear_previous_run(output_dir: Path) -> list[Path]:
    """Remove a previous run's checkpoints and artifacts, leaving other files alone.

    Returns:
        The removed paths.
    """
    removed = []
    for child in sorted(output_dir.iterdir()):
        if CHECKPOINT_RE.match(child.name) or child.name in RUN_ARTIFACTS:
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
            removed.append(child)
    return removed
