"""`gkd export`: turn a run's saved model (a LoRA adapter or full weights) into a folder to ship.

Thin by design: the work is in `gkd_schema.runner.export`, imported inside the command
so `gkd --help` never loads torch.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import typer

from gkd_schema.cli.options import require_training_extra, usage_error


def export_command(
    run_dir: Path = typer.Argument(
        ..., metavar="RUN_DIR", help="A `gkd run` output_dir (finished, or with checkpoints).", show_default=False
    ),
    out_dir: Path = typer.Argument(
        ...,
        metavar="OUT_DIR",
        help="The folder to write: absent or empty, and outside RUN_DIR.",
        show_default=False,
    ),
    merge_lora: bool = typer.Option(
        False,
        "--merge-lora",
        help="Fold the LoRA adapter into its base model and write the merged model; without it the "
        "adapter (or full model) is copied as saved.",
    ),
    checkpoint: str | None = typer.Option(
        None,
        "--checkpoint",
        metavar="<checkpoint-N|latest>",
        help="Export a checkpoint instead of the final model: its name, or `latest` for the newest complete one.",
    ),
    base: str | None = typer.Option(
        None,
        "--base",
        metavar="<PATH_OR_ID>",
        help="The adapter's base model (a folder or a cached Hub id); the run's `model.name_or_path` by default.",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace a previous export in OUT_DIR (only model and tokenizer files)."
    ),
) -> None:
    """Write a run's model and tokenizer to OUT_DIR, ready for `from_pretrained`.

    Reads the model a `gkd run` saved in RUN_DIR: with `--merge-lora`, its LoRA adapter is
    merged into the base model (loaded from its folder or the local Hub cache, never
    downloaded) and saved as a full model; without it, the adapter or full weights are
    copied without optimizer state. Exit 0 written, 1 nothing to export or failed, 2 usage error.
    """
    if not run_dir.is_dir():
        raise usage_error(f"no such directory: {run_dir}")
    require_training_extra("gkd export")
    if merge_lora and importlib.util.find_spec("peft") is None:
        raise usage_error("--merge-lora needs peft (part of the training extra): pip install 'gkd[train]'")
    from gkd_schema.runner.export.export import export_run
    from gkd_schema.runner.export.source import ExportError

    try:
        result = export_run(
            run_dir,
            out_dir,
            merge_lora=merge_lora,
            checkpoint=checkpoint,
            base=base,
            overwrite=overwrite,
            base_dir=Path.cwd(),
        )
    except ExportError as exc:
        typer.echo(f"gkd export: {exc}", err=True)
        raise typer.Exit(1) from None
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        # An unreadable file, an adapter that does not fit its base: a sentence, not a traceback.
        typer.echo(f"gkd export: could not export {run_dir}: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    what = {
        "merged": f"merged model ({result.source.base_label} + the LoRA adapter in {result.source.directory})",
        "adapter": f"LoRA adapter from {result.source.directory}",
        "full": f"model from {result.source.directory}",
    }[result.written]
    typer.echo(f"wrote the {what} and its tokenizer to {result.out_dir} ({len(result.files)} files)")


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("export")(export_command)
