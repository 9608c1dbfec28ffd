"""The accelerate recipes in examples/accelerate/ and the FSDP teacher fix.

No GPU here: the recipes are checked as files (accelerate's own parser, gkd's check)
and through `gkd run --dry-run` with the device facts simulated; the FSDP teacher
decision is tested with a stand-in for TRL's `prepare_fsdp`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gkd_schema.cli.app import app
from gkd_schema.runner.launch.accelerate_config import accelerate_config_problem, read_accelerate_config
from gkd_schema.runner.preflight import device_memory
from gkd_schema.runner.preflight.device_memory import DeviceMemory
from gkd_schema.runner.train.fsdp_teacher import shard_teacher

RECIPES = Path(__file__).resolve().parents[2] / "examples" / "accelerate"
SHARDED = {"fsdp2.yaml": "FSDP", "zero2.yaml": "DEEPSPEED", "zero3.yaml": "DEEPSPEED"}


def test_the_four_recipes_are_shipped() -> None:
    assert sorted(p.name for p in RECIPES.glob("*.yaml")) == ["ddp.yaml", "fsdp2.yaml", "zero2.yaml", "zero3.yaml"]


@pytest.mark.parametrize("name", ["ddp.yaml", *SHARDED])
def test_accelerate_itself_reads_each_recipe(name: str) -> None:
    from accelerate.commands.config.config_args import ClusterConfig

    # Unknown keys would make `accelerate launch` refuse the file.
    config = ClusterConfig.from_yaml_file(str(RECIPES / name))
    assert config.distributed_type.value == read_accelerate_config(RECIPES / name)["distributed_type"]


def test_recipe_settings_the_teacher_depends_on() -> None:
    fsdp = read_accelerate_config(RECIPES / "fsdp2.yaml")["fsdp_config"]
    # True would load real weights on rank 0 only; nothing broadcasts them to the teacher.
    assert fsdp["fsdp_version"] == 2 and fsdp["fsdp_cpu_ram_efficient_loading"] is False
    assert read_accelerate_config(RECIPES / "zero2.yaml")["deepspeed_config"]["zero_stage"] == 2
    assert read_accelerate_config(RECIPES / "zero3.yaml")["deepspeed_config"]["zero_stage"] == 3


@pytest.mark.parametrize(("name", "kind"), SHARDED.items())
def test_sharded_recipes_pass_with_a_gpu_and_are_refused_without(name: str, kind: str) -> None:
    assert accelerate_config_problem(RECIPES / name, has_gpu=True) is None
    problem = accelerate_config_problem(RECIPES / name, has_gpu=False)
    assert problem is not None and str(RECIPES / name) in problem
    assert f"`distributed_type: {kind}` needs GPUs" in problem and "--num-processes N" in problem


def _simulate_gpu(monkeypatch: pytest.MonkeyPatch, total_gib: int) -> None:
    """The two device facts `gkd run` reads: a GPU is visible, and GPU 0's memory."""
    monkeypatch.setattr("gkd_schema.runner.launch.relaunch.has_accelerator", lambda: True)
    gpu = DeviceMemory("cuda:0 (NVIDIA H100 80GB HBM3)", total_gib * 2**30, accelerator=True)
    monkeypatch.setattr(device_memory, "_cuda_memory", lambda: gpu)


@pytest.mark.parametrize("name", [*SHARDED, "ddp.yaml"])
def test_dry_run_accepts_each_recipe_on_a_simulated_gpu(
    write_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    _simulate_gpu(monkeypatch, 80)
    cfg = write_config(tmp_path)
    result = CliRunner().invoke(app, ["run", str(cfg), "--accelerate-config", str(RECIPES / name), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "gkd run --dry-run: no weights loaded, nothing written." in result.output
    assert not (tmp_path / "out").exists()


def test_dry_run_gives_the_memory_estimate_per_gpu(
    write_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _simulate_gpu(monkeypatch, 0)  # a GPU too small for anything: the estimate is reported
    cfg = write_config(tmp_path)
    args = ["run", str(cfg), "--accelerate-config", str(RECIPES / "zero3.yaml"), "--dry-run"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "per device" in result.output and "cuda:0 (NVIDIA H100 80GB HBM3) has 0" in result.output


@pytest.mark.parametrize("name", list(SHARDED))
def test_gkd_run_names_the_recipe_when_no_gpu_is_visible(
    write_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setattr("gkd_schema.runner.launch.relaunch.has_accelerator", lambda: False)
    cfg = write_config(tmp_path)
    result = CliRunner().invoke(app, ["run", str(cfg), "--accelerate-config", str(RECIPES / name), "--dry-run"])
    assert result.exit_code == 1
    assert f"--accelerate-config {RECIPES / name}" in result.output and "needs GPUs" in result.output


class _Recorder:
    """Stands in for TRL's `prepare_fsdp`: records the call, returns a marker."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, Any]] = []

    def __call__(self, model: Any, accelerator: Any) -> Any:
        self.calls.append((model, accelerator))
        return ("sharded", model)


def test_the_teacher_is_sharded_under_fsdp() -> None:
    import torch

    teacher, accelerator, prepare = torch.nn.Linear(2, 2), object(), _Recorder()
    assert shard_teacher(teacher, accelerator, fsdp_enabled=True, prepare=prepare) == ("sharded", teacher)
    assert prepare.calls == [(teacher, accelerator)]


def test_the_teacher_is_left_alone_without_fsdp() -> None:
    import torch

    teacher, prepare = torch.nn.Linear(2, 2), _Recorder()
    assert shard_teacher(teacher, object(), fsdp_enabled=False, prepare=prepare) is teacher
    assert shard_teacher(None, object(), fsdp_enabled=True, prepare=prepare) is None
    assert prepare.calls == []


@pytest.mark.parametrize("fsdp", [True, False])
def test_gkd_trainer_shards_the_teacher_trl_left_under_fsdp(monkeypatch: pytest.MonkeyPatch, fsdp: bool) -> None:
    from types import SimpleNamespace

    import trl.models.utils

    from gkd_schema.runner.train import trainer as trainer_module

    teacher, accelerator, prepare = object(), object(), _Recorder()

    def trl_init(self: Any, *args: Any, **kwargs: Any) -> None:
        # What TRL 1.16's GKDTrainer.__init__ leaves under FSDP: an unwrapped teacher.
        self.teacher_model, self.accelerator, self.is_fsdp_enabled = teacher, accelerator, fsdp
        self.generation_kwargs, self.generation_config = {}, SimpleNamespace(use_cache=False)
        self.args = SimpleNamespace(gradient_checkpointing_kwargs=None)

    monkeypatch.setattr(trainer_module._TrlGKDTrainer, "__init__", trl_init)
    monkeypatch.setattr(trl.models.utils, "prepare_fsdp", prepare)
    built = trainer_module.GkdTrainer()
    assert built.teacher_model == (("sharded", teacher) if fsdp else teacher)
    assert prepare.calls == ([(teacher, accelerator)] if fsdp else [])
