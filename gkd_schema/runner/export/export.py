"""`gkd export RUN_DIR OUT_DIR`: find what the run saved, write it (merged or copied) to OUT_DIR.

The command line is `gkd_schema/cli/export_cmd.py`; this is the library behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gkd_schema.runner.export.merge import copy_saved, merge_adapter
from gkd_schema.runner.export.source import ExportError, ExportSource, find_source
from gkd_schema.runner.export.target import check_out_dir, place, staging_dir
from gkd_schema.runner.train.hub_offline import run_offline


@dataclass(frozen=True)
class ExportResult:
    """What one export wrote.

    Attributes:
        source: The saved model it was made from.
        out_dir: Where it is now.
        written: `merged` (adapter folded into the base), `adapter` or `full` (copied).
        files: The files written into `out_dir`.
    """

    source: ExportSource
    out_dir: Path
    written: Literal["merged", "adapter", "full"]
    files: list[Path]


def export_run(
    run_dir: Path,
    out_dir: Path,
    *,
    merge_lora: bool,
    checkpoint: str | None = None,
    base: str | None = None,
    overwrite: bool = False,
    base_dir: Path,
) -> ExportResult:
    """Export a run's model as a folder `from_pretrained` loads.

    Args:
        run_dir: A `gkd run` output_dir.
        out_dir: The folder to write; must be empty or absent unless `overwrite`.
        merge_lora: Fold a LoRA adapter into its base model (an error for full weights).
        checkpoint: None for the final model, `latest` or `checkpoint-N` for a checkpoint.
        base: The adapter's base model (path or Hub id) instead of the one the run recorded.
        overwrite: Replace a previous export in `out_dir` (only the files an export writes).
        base_dir: Where relative model paths start (the working directory, as in `gkd run`).

    Returns:
        What was written.

    Raises:
        ExportError: Nothing to export, nothing to merge, no base model, or an unusable OUT_DIR.
        OSError, ValueError: Loading or saving failed; OUT_DIR is left as it was.
    """
    source = find_source(run_dir, checkpoint=checkpoint, base=base, base_dir=base_dir)
    if merge_lora and source.kind == "full":
        raise ExportError(
            f"{source.directory} holds full weights, not a LoRA adapter, so there is nothing to merge; "
            "drop --merge-lora to copy the model as it is"
        )
    check_out_dir(out_dir, run_dir, overwrite=overwrite)
    # Every model is a local folder by now; nothing may reach the Hub on the way.
    run_offline()
    with staging_dir(out_dir) as staging:
        if merge_lora:
            merge_adapter(source, staging)
        else:
            copy_saved(source, staging)
        files = place(staging, out_dir)
    return ExportResult(source, out_dir, "merged" if merge_lora else source.kind, files)
