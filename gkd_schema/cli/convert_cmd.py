"""`gkd convert`: an Oumi or TRL GKD config -> a commented gkd config."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import typer

from gkd_schema.artifacts.starter_config import schema_reference
from gkd_schema.cli.options import check_config_paths, usage_error
from gkd_schema.config.reporting import render_text
from gkd_schema.convert.conversion import convert_file
from gkd_schema.convert.plan import ConvertError, SourceTool

_TOOLS: tuple[str, ...] = get_args(SourceTool)


def convert(
    config: Path = typer.Argument(..., metavar="CONFIG", help="The Oumi or TRL config to convert.", show_default=False),
    source: str = typer.Option(
        ...,
        "--from",
        metavar="<oumi|trl>",
        help=(
            "The tool CONFIG is for: `oumi` (an `oumi train -c` config with `trainer_type: TRL_GKD`) or "
            "`trl` (the YAML TRL's GKD script takes with `--config`)."
        ),
        show_default=False,
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", metavar="PATH", help="Write the gkd config here instead of printing it."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace PATH if it exists."),
) -> None:
    """Convert another tool's GKD config into a commented gkd config that `gkd validate` accepts.

    Keys that were renamed name their source in a comment; keys with no gkd equivalent are
    listed at the end with the reason. Exit 0 when converted and valid, 1 when CONFIG is not
    the named tool's format or the result does not validate (it is still written), 2 for
    usage errors (missing CONFIG, existing PATH without --overwrite).
    """
    if source not in _TOOLS:
        raise usage_error(f"--from must be oumi or trl, not {source!r}")
    check_config_paths([config])
    if output is not None and output.exists() and not overwrite:
        raise usage_error(f"{output} already exists; pass --overwrite to replace it")
    try:
        result = convert_file(
            config,
            source,  # type: ignore[arg-type]
            schema_reference(output or Path.cwd() / "gkd.yaml"),
            str(output) if output else "<converted>",
        )
    except ConvertError as exc:
        where = f"{config}:{exc.line}:{exc.column}" if exc.line is not None else str(config)
        typer.echo(f"{where}: {exc.message}", err=True)
        raise typer.Exit(1) from None
    if output is None:
        typer.echo(result.text, nl=False)
    else:
        try:
            output.write_text(result.text, encoding="utf-8")
        except OSError as exc:
            raise usage_error(f"cannot write {output}: {exc.strerror}") from None
        typer.echo(f"wrote {output}", err=True)
    skipped = len(result.plan.unconverted)
    typer.echo(f"{config}: converted; {skipped} key{'' if skipped == 1 else 's'} not converted (listed at the end, "
               "with the reason)", err=True)  # fmt: skip
    if not result.report.valid or result.report.warnings:
        typer.echo(render_text([result.report]), err=True)
    raise typer.Exit(0 if result.report.valid else 1)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command("convert")(convert)
