"""`gkd plot`: draw a run's loss and learning-rate curves into a PNG.

Thin by design: the work is in `gkd_schema.runner.eval.plotting`, imported inside the
command so `gkd --help` never loads matplotlib.
"""

from __future__ import annotations

from pathlib import Path

import typer

from gkd_schema.cli.options import usage_error


def plot_command(
    run_dir: Path = typer.Argument(
        ..., metavar="RUN_DIR", help="A run's `training.output_dir`.", show_default=False
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="The PNG to write; `RUN_DIR/training_curves.png` by default."
    ),
) -> None:
    """Plot training loss, eval loss and learning rate over steps.

    Reads the trainer's saved `trainer_state.json` (of the finished run, or of its
    newest checkpoint). Exit 0 written, 1 nothing to plot, 2 usage error.
    """
    if not run_dir.is_dir():
        raise usage_error(f"no such directory: {run_dir}")
    from gkd_schema.runner.eval.plotting import PlotError, plot_run

    try:
        path = plot_run(run_dir, output)
    except PlotError as exc:
        typer.echo(f"gkd plot: {exc}", err=True)
        raise typer.Exit(1) from None
    except ImportError as exc:
        typer.echo(f"gkd plot: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("plot")(plot_command)
