"""Everything `gkd run` decides before loading weights: precision, TRL arguments, output plan.

`gkd run --dry-run` stops here; a real run continues in `runner/train/run.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gkd_schema.config.diagnostics import Diagnostic
from gkd_schema.models import RunConfig
from gkd_schema.runner.preflight.locate import resolve_path
from gkd_schema.runner.preflight.output_plan import OutputDirError, OutputPlan, plan_output
from gkd_schema.runner.preflight.precision import DeviceInfo, Precision, precision_for
from gkd_schema.runner.preflight.trainer_args import (
    TrainerArgsError,
    build_trainer_kwargs,
    make_gkd_config,
)
from gkd_schema.runner.preflight.trl_compat import gkd_config_fields, gkd_config_types


class RunSetupError(Exception):
    """The run cannot start; carries diagnostics to render like `gkd validate`."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics


@dataclass
class RunPlan:
    """What a run will do, decided without loading any weights.

    Attributes:
        config: The validated config.
        device: The accelerator of this process.
        precision: Chosen precision and load dtypes.
        trainer_kwargs: The exact `GKDConfig` keyword arguments.
        gkd_config: TRL's `GKDConfig` built from them.
        output: What happens to `output_dir`.
        base_dir: Directory relative paths are resolved against.
        offline: The run switches the Hub off: `--offline` or `HF_HUB_OFFLINE` asked for
            it, or every Hub model is in the local cache, weights included, and the run
            does not push to the Hub.
    """

    config: RunConfig
    device: DeviceInfo
    precision: Precision
    trainer_kwargs: dict[str, Any]
    gkd_config: Any
    output: OutputPlan
    base_dir: Path
    offline: bool = False


def plan_run(config: RunConfig, *, base_dir: Path, overwrite: bool = False) -> RunPlan:
    """Decide precision, build and check TRL's arguments, check the output directory.

    Args:
        config: The validated run config.
        base_dir: Directory relative paths in the config are resolved against.
        overwrite: The `--overwrite` option.

    Returns:
        The plan. Nothing is loaded or written.

    Raises:
        RunSetupError: Every problem found (bad `extra_args`, TRL rejecting a value,
            an occupied output directory).
    """
    device, precision = precision_for(config, base_dir)
    output_dir = resolve_path(config.training.output_dir, base_dir)
    errors: list[Diagnostic] = []
    kwargs: dict[str, Any] = {}
    gkd_config = None
    try:
        kwargs = build_trainer_kwargs(config, precision, gkd_config_fields(), gkd_config_types())
        kwargs["output_dir"] = str(output_dir)
        gkd_config = make_gkd_config(kwargs, extra_keys=config.training.extra_args)
    except TrainerArgsError as exc:
        errors.extend(exc.diagnostics)
    try:
        output = plan_output(
            output_dir, config.training.resume, overwrite=overwrite, base_dir=base_dir
        )
    except OutputDirError as exc:
        errors.append(exc.diagnostic)
    if errors:
        raise RunSetupError(errors)
    return RunPlan(config, device, precision, kwargs, gkd_config, output, base_dir)
