"""`--accelerate-config` files the machine cannot honour are refused before anything launches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gkd_schema.cli.app import app
from gkd_schema.runner.launch.accelerate_config import accelerate_config_problem

FSDP = "compute_environment: LOCAL_MACHINE\ndistributed_type: FSDP\nnum_processes: 2\nfsdp_config:\n  fsdp_version: 2\n"
DEEPSPEED = "distributed_type: DEEPSPEED\ndeepspeed_config:\n  zero_stage: 3\n"
DDP = "distributed_type: MULTI_GPU\nnum_processes: 2\n"


def _write(tmp_path: Path, text: str, name: str = "accelerate.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "name"), [(FSDP, "FSDP"), (DEEPSPEED, "DeepSpeed")])
def test_sharded_training_without_a_gpu_is_refused(tmp_path: Path, text: str, name: str) -> None:
    problem = accelerate_config_problem(_write(tmp_path, text), has_gpu=False)
    assert problem is not None
    assert "needs GPUs, but no GPU is visible here" in problem
    assert f"silently train without {name}" in problem and "--num-processes N" in problem


def test_use_cpu_with_fsdp_is_refused_even_with_a_gpu(tmp_path: Path) -> None:
    problem = accelerate_config_problem(_write(tmp_path, FSDP + "use_cpu: true\n"), has_gpu=True)
    assert problem is not None and "sets `use_cpu: true`" in problem


@pytest.mark.parametrize(("text", "has_gpu"), [(FSDP, True), (DEEPSPEED, True), (DDP, False), ("{}", False)])
def test_configs_the_machine_can_run_pass(tmp_path: Path, text: str, has_gpu: bool) -> None:
    assert accelerate_config_problem(_write(tmp_path, text), has_gpu=has_gpu) is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("distributed_type: [FSDP\n", "not a YAML or JSON file"), ("- FSDP\n", "expected a mapping")],
)
def test_unreadable_files_get_one_sentence(tmp_path: Path, text: str, fragment: str) -> None:
    problem = accelerate_config_problem(_write(tmp_path, text), has_gpu=True)
    assert problem is not None and fragment in problem


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_gkd_run_refuses_fsdp_on_this_cpu_machine(write_config: Any, tmp_path: Path, dry_run: list[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine without a GPU")
    cfg = write_config(tmp_path)
    accel = _write(tmp_path, FSDP, "fsdp.yaml")
    result = CliRunner().invoke(app, ["run", str(cfg), "--accelerate-config", str(accel), *dry_run])
    assert result.exit_code == 1
    assert "distributed_type: FSDP` needs GPUs" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "out").exists()
