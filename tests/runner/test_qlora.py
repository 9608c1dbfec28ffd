"""QLoRA (`peft.load_in_4bit`): refused with its reason on a CPU at `validate --deep`, a 4-bit student load on CUDA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gkd_schema.cli.app import app
from gkd_schema.models.peft_section import PeftSection
from gkd_schema.runner.preflight.environment import check_qlora
from gkd_schema.runner.preflight.precision import Precision
from gkd_schema.runner.train.quantization import quantized_load_kwargs


def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def test_validate_deep_refuses_qlora_on_a_cpu_and_says_why(write_config: Any, tmp_path: Path) -> None:
    if _cuda():
        pytest.skip("the refusal is for machines without CUDA")
    cfg = write_config(tmp_path, peft={"r": 4, "load_in_4bit": True})
    result = CliRunner().invoke(app, ["validate", "--deep", str(cfg)], catch_exceptions=False)
    assert result.exit_code == 1
    assert "peft.load_in_4bit: QLoRA needs a CUDA GPU" in result.output
    assert "this machine has none" in result.output and "`peft.load_in_4bit: false`" in result.output
    plain = CliRunner().invoke(app, ["validate", "--deep", str(write_config(tmp_path, peft={"r": 4}))])
    assert plain.exit_code == 0, plain.output


def test_qlora_is_accepted_with_cuda_and_bitsandbytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_qlora(False, "cpu") == []
    without = check_qlora(True, "cuda")
    if without:  # bitsandbytes is not installed here: the error names the extra
        assert [d.type for d in without] == ["qlora_not_installed"]
        assert "pip install 'gkd[qlora]'" in without[0].message
    # A package named bitsandbytes on the path is what the check looks for.
    (tmp_path / "bitsandbytes").mkdir()
    (tmp_path / "bitsandbytes" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert check_qlora(True, "cuda") == []
    assert [d.type for d in check_qlora(True, "cpu")] == ["qlora_needs_cuda"]


def _precision(*, bf16: bool, fp16: bool = False) -> Precision:
    return Precision(
        bf16=bf16, fp16=fp16, student_dtype="auto", teacher_dtype="auto", reason="test", device_kind="cuda"
    )


def test_the_student_loads_in_4bit_nf4_computing_in_the_run_precision() -> None:
    import torch

    assert quantized_load_kwargs(None, _precision(bf16=True)) == {}
    assert quantized_load_kwargs(PeftSection(), _precision(bf16=True)) == {}
    kwargs = quantized_load_kwargs(PeftSection(load_in_4bit=True), _precision(bf16=True))
    config = kwargs["quantization_config"]
    assert (config.load_in_4bit, config.bnb_4bit_quant_type, config.bnb_4bit_use_double_quant) == (True, "nf4", True)
    assert config.bnb_4bit_compute_dtype == torch.bfloat16
    assert kwargs["device_map"] == {"": 0}  # the process's local GPU
    fp16 = quantized_load_kwargs(PeftSection(load_in_4bit=True), _precision(bf16=False, fp16=True))
    assert fp16["quantization_config"].bnb_4bit_compute_dtype == torch.float16
