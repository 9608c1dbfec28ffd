"""The function that runs the one list of checks (`checks_table.CHECKS`) before any weights load.

`gkd validate --deep`, `gkd run --dry-run` and `gkd run` all call `check_run`; the table
in docs/preflight.md is `render_table()` of `CHECKS` (a test keeps the two equal, and
keeps every diagnostic type the preflight modules emit in the list).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gkd_schema.config.diagnostics import Diagnostic
from gkd_schema.models import RunConfig
from gkd_schema.runner.preflight import run_preflight
from gkd_schema.runner.preflight.checks_table import CHECKS, Check, render_table
from gkd_schema.runner.preflight.environment import check_loss_backend, check_qlora, check_trackers
from gkd_schema.runner.preflight.guard import guarded
from gkd_schema.runner.preflight.hub_access import HubAccess, check_hub_access
from gkd_schema.runner.preflight.hub_models import HubModels, prepare_hub_models
from gkd_schema.runner.preflight.hub_push import check_push
from gkd_schema.runner.preflight.output_dir import check_resume
from gkd_schema.runner.preflight.precision import detect_device
from gkd_schema.runner.preflight.resume_drift import check_resume_drift
from gkd_schema.runner.preflight.run_plan import RunPlan, RunSetupError, plan_run
from gkd_schema.runner.preflight.teacher_server_check import check_teacher_server
from gkd_schema.runner.preflight.vllm_check import check_vllm
from gkd_schema.runner.preflight.vllm_server_check import check_vllm_server

__all__ = ["CHECKS", "Check", "RunCheck", "check_run", "render_table"]


@dataclass(frozen=True)
class RunCheck:
    """What `check_run` found: every diagnostic, and the run's plan when it may start.

    Attributes:
        diagnostics: Errors and warnings, each naming its key and the fix.
        plan: The plan `gkd run` follows; None for `gkd validate --deep` and whenever
            an error was found.
    """

    diagnostics: list[Diagnostic]
    plan: RunPlan | None

    @property
    def errors(self) -> list[Diagnostic]:
        """The diagnostics that stop a run."""
        return [d for d in self.diagnostics if d.severity == "error"]


def check_run(
    config: RunConfig,
    *,
    base_dir: Path,
    overwrite: bool = False,
    for_run: bool = True,
    offline: bool = False,
) -> RunCheck:
    """Run every check in `CHECKS` that applies, loading no weights.

    A Hub model that is not cached has its config and tokenizer files downloaded first
    (never its weights), unless `offline` or `HF_HUB_OFFLINE` forbids it.

    Args:
        config: A config `gkd validate` accepted (its cross-field rules already ran).
        base_dir: The directory relative paths start from (the working directory).
        overwrite: `gkd run --overwrite`: an occupied output directory is allowed.
        for_run: True for `gkd run` (and `--dry-run`): the output directory is planned
            as the run will use it. False for `gkd validate --deep`, which does not know
            `--overwrite`: only a `training.resume` path is checked there.
        offline: `--offline`: use the local Hugging Face cache only, as `HF_HUB_OFFLINE=1`
            does; a model that is not cached is an error, and the run switches the Hub off.

    Returns:
        The diagnostics, and the plan when `for_run` and nothing is an error.
    """
    base_dir = Path(base_dir).absolute()
    hub = HubAccess(offline_flag=offline)
    out: list[Diagnostic] = []
    models = HubModels([], frozenset(), [])
    with guarded("the config and tokenizer files of the Hub models", (), out):
        models = prepare_hub_models(config, base_dir, hub)
    checked = run_preflight(config, base_dir=base_dir, check_output_dir=False)
    out += [d for d in checked if d.type != "not_cached" or d.loc not in models.failed] + models.fetch_problems
    not_cached = [d for d in out if d.type == "not_cached"]
    downloads = not_cached + models.to_download
    with guarded("access to the Hugging Face Hub", downloads[0].loc if downloads else (), out):
        if blocked := check_hub_access(downloads, hub):
            out = [d for d in out if d not in not_cached] + blocked
    plan = None
    with guarded("the TRL arguments and the output directory", ("training",), out):
        try:
            # Without the run's --overwrite, planning as if it were given checks every
            # TRL argument and leaves the output directory to `check_resume`.
            plan = plan_run(config, base_dir=base_dir, overwrite=overwrite or not for_run)
        except RunSetupError as exc:
            out += exc.diagnostics
    if not for_run:
        out += check_resume(config.training, base_dir=base_dir)
    elif plan is not None and plan.output.resume_from is not None:
        out += check_resume_drift(config, plan.output.output_dir, plan.output.resume_from)
    with guarded("the installed packages", ("gkd", "loss_implementation"), out):
        device_kind = plan.device.kind if plan is not None else detect_device().kind
        out += check_loss_backend(config.gkd.loss_implementation, device_kind)
        out += check_qlora(config.peft is not None and config.peft.load_in_4bit, device_kind)
        out += check_trackers(config.training.report_to)
    with guarded("vLLM and the device it generates on", ("generation", "backend"), out):
        device_kind = plan.device.kind if plan is not None else detect_device().kind
        out += check_vllm(config, base_dir=base_dir, device_kind=device_kind)
    with guarded("the vLLM server", ("generation", "vllm", "server_url"), out):
        out += check_vllm_server(config, base_dir=base_dir)
    with guarded("the teacher server", ("teacher", "server_url"), out):
        out += check_teacher_server(config, base_dir=base_dir)
    with guarded("the Hub token", ("training", "push_to_hub"), out):
        out += check_push(config.training, hub)
    if plan is not None:
        # A run that pushes needs the Hub even when every model is cached.
        plan.offline = hub.offline or not (downloads or config.training.push_to_hub)
    found = RunCheck(out, None)
    return found if not for_run or found.errors else RunCheck(out, plan)
