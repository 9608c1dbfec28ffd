"""Carry out an output-directory plan: clear what a previous run wrote, and nothing else;
keep every resolved config a run started with."""

from __future__ import annotations

import shutil
from pathlib import Path

from gkd_schema.runner.preflight.output_plan import (
    CHECKPOINT_RE,
    CONFIG_HISTORY_RE,
    RESOLVED_CONFIG,
    RUN_ARTIFACTS,
    config_history,
)


def clear_previous_run(output_dir: Path) -> list[Path]:
    """Remove a previous run's checkpoints and artifacts, leaving other files alone.

    Returns:
        The removed paths.
    """
    removed = []
    for child in sorted(output_dir.iterdir()):
        if CHECKPOINT_RE.match(child.name) or CONFIG_HISTORY_RE.match(child.name) or child.name in RUN_ARTIFACTS:
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
            removed.append(child)
    return removed


def record_resolved_config(output_dir: Path, text: str) -> Path | None:
    """Write the resolved config a run starts with, never replacing an earlier one.

    The first start writes `gkd_config.yaml`; a resume whose config differs from the
    newest one kept writes `gkd_config.N.yaml` beside it.

    Returns:
        The file written, or None when the newest kept config is the same.
    """
    history = config_history(output_dir)
    if history and history[-1].read_text("utf-8") == text:
        return None
    target = output_dir / (RESOLVED_CONFIG if not history else f"gkd_config.{len(history)}.yaml")
    target.write_text(text, "utf-8")
    return target
