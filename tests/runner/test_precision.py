"""Precision and load dtypes follow the hardware: fp32 training on a CPU, bf16 teacher where it is native."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from devices import AMPERE, CPU, CPU_BF16

from gkd_schema.models import RunConfig
from gkd_schema.runner.preflight import precision as precision_module
from gkd_schema.runner.preflight.locate import checkpoint_dtype
from gkd_schema.runner.preflight.memory_check import CheckedModel, estimate_run_memory
from gkd_schema.runner.preflight.precision import choose_precision, cpuinfo_has_native_bf16, precision_for

SAPPHIRE_RAPIDS = "processor\t: 0\nflags\t\t: fpu sse avx512f avx512bw amx_bf16 amx_tile\n"
ZEN4 = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 avx512_vnni\n"
SKYLAKE = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512bw avx512_vnni\n"


def _config(**gkd: Any) -> RunConfig:
    return RunConfig.model_validate(
        {
            "model": {"name_or_path": "./student"},
            "gkd": {"teacher_model_name_or_path": "./teacher", **gkd},
            "data": {"train": {"path": "train.jsonl"}},
            "training": {"output_dir": "out"},
        }
    )


@pytest.mark.parametrize(
    ("cpuinfo", "native"),
    [(SAPPHIRE_RAPIDS, True), (ZEN4, True), (SKYLAKE, False), ("Hardware\t: BCM2835\n", False), ("", False)],
)
def test_native_bf16_is_read_from_the_cpu_flags(cpuinfo: str, native: bool) -> None:
    assert cpuinfo_has_native_bf16(cpuinfo) is native


def test_a_cpu_without_native_bf16_loads_everything_as_float32() -> None:
    precision = choose_precision(_config(), CPU, teacher_stored_dtype="bfloat16")
    assert (precision.label, precision.student_dtype, precision.teacher_dtype) == ("fp32", "float32", "float32")
    assert precision.reason == "chosen: CPU has no native bf16"


def test_a_cpu_with_native_bf16_keeps_a_bf16_teacher_and_trains_in_fp32() -> None:
    precision = choose_precision(_config(), CPU_BF16, teacher_stored_dtype="bfloat16")
    assert (precision.label, precision.student_dtype, precision.teacher_dtype) == ("fp32", "float32", "bfloat16")
    assert "native bf16 runs the bf16 teacher" in precision.reason


@pytest.mark.parametrize("stored", ["float32", "float16", None])
def test_only_a_teacher_stored_in_bf16_stays_bf16_on_a_cpu(stored: str | None) -> None:
    precision = choose_precision(_config(), CPU_BF16, teacher_stored_dtype=stored)
    assert precision.teacher_dtype == "float32"
    assert precision.reason == "chosen: CPU trains in fp32"


def test_an_explicit_teacher_dtype_wins_on_a_cpu() -> None:
    config = _config(teacher_model_init_kwargs={"dtype": "float32"})
    assert choose_precision(config, CPU_BF16, teacher_stored_dtype="bfloat16").teacher_dtype == "float32"


def test_an_accelerator_loads_auto_as_stored() -> None:
    precision = choose_precision(_config(), AMPERE, teacher_stored_dtype="bfloat16")
    assert (precision.label, precision.student_dtype, precision.teacher_dtype) == ("bf16", "auto", "auto")


def _fake_model(directory: Path, dtype: str) -> Path:
    directory.mkdir(parents=True)
    config = {"model_type": "olmo2", "vocab_size": 100, "hidden_size": 64, "num_hidden_layers": 2, "dtype": dtype}
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (directory / "model.safetensors").write_bytes(b"")
    return directory


def test_checkpoint_dtype_comes_from_config_json(tmp_path: Path) -> None:
    _fake_model(tmp_path / "teacher", "bfloat16")
    assert checkpoint_dtype("./teacher", base_dir=tmp_path) == "bfloat16"
    assert checkpoint_dtype("./missing", base_dir=tmp_path) is None
    # A Hub id that is not cached here is unknown, not an error (preflight is offline).
    assert checkpoint_dtype("org/not-cached-anywhere", base_dir=tmp_path) is None


@pytest.mark.parametrize(("native", "teacher_dtype"), [(True, "bfloat16"), (False, "float32")])
def test_precision_for_reads_the_teacher_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, native: bool, teacher_dtype: str
) -> None:
    _fake_model(tmp_path / "teacher", "bfloat16")
    monkeypatch.setattr(precision_module, "cpu_native_bf16", lambda: native)
    device, precision = precision_for(_config(), tmp_path)
    assert device.kind == "cpu" and device.bf16 is native
    assert (precision.student_dtype, precision.teacher_dtype) == ("float32", teacher_dtype)


@pytest.mark.parametrize(("native", "teacher_bytes"), [(True, 2.0), (False, 4.0)])
def test_memory_estimate_counts_the_teacher_as_it_will_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, native: bool, teacher_bytes: float
) -> None:
    from gkd_schema.runner.preflight import memory_check

    monkeypatch.setattr(memory_check, "cpu_native_bf16", lambda: native)
    student = _fake_model(tmp_path / "student", "bfloat16")
    teacher = _fake_model(tmp_path / "teacher", "bfloat16")
    models = [CheckedModel(d, json.loads((d / "config.json").read_text())) for d in (student, teacher)]
    estimate = estimate_run_memory(_config(), models[0], models[1], None)
    assert estimate is not None
    # Same architecture: the student always loads as float32 on a CPU (4 bytes a weight).
    assert estimate.teacher_weights / estimate.student_weights == teacher_bytes / 4.0


@pytest.mark.slow
def test_a_bf16_teacher_really_loads_in_bf16_on_a_native_bf16_cpu(
    tiny_teacher_dir: Path, write_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from gkd_schema.config.validation import validate_file
    from gkd_schema.runner.preflight.run_plan import plan_run
    from gkd_schema.runner.train.run import build_trainer, load_data

    teacher = tmp_path / "teacher-bf16"
    AutoModelForCausalLM.from_pretrained(str(tiny_teacher_dir)).to(torch.bfloat16).save_pretrained(str(teacher))
    cfg = write_config(
        tmp_path,
        model={"dtype": "auto"},
        gkd={"teacher_model_name_or_path": str(teacher), "teacher_model_init_kwargs": {"dtype": "auto"}},
        training={"max_steps": 1},
    )
    config = validate_file(cfg).config
    assert config is not None
    monkeypatch.setattr(precision_module, "cpu_native_bf16", lambda: True)
    plan = plan_run(config, base_dir=tmp_path)
    train, _, _ = load_data(config, tmp_path)
    trainer, _ = build_trainer(plan, train, None)
    assert next(trainer.teacher_model.parameters()).dtype == torch.bfloat16
    assert next(trainer.model.parameters()).dtype == torch.float32
    trainer.train()
    assert torch.isfinite(torch.tensor(trainer.state.log_history[0]["loss"]))
