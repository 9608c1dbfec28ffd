"""What only a CUDA GPU can show: the loss kernels there, bf16 autocast, Liger, memory.

Skipped without CUDA (`gpu` marker). Run on the GPU host with
`python -m pytest -m gpu tests/gpu` (benchmarks/README.md, GPU acceptance).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.gpu


def _logits(seed: int, shape: tuple[int, ...], device: str, dtype: Any) -> Any:
    import torch

    gen = torch.Generator().manual_seed(seed)
    return (2 * torch.randn(*shape, generator=gen)).to(device=device, dtype=dtype)


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_chunked_loss_on_cuda_matches_its_cpu_result(beta: float) -> None:
    import torch

    from gkd_schema.runner.loss.jsd_chunked import chunked_generalized_jsd_loss

    shape = (2, 64, 4096)
    labels = torch.randint(0, 4096, shape[:2], generator=torch.Generator().manual_seed(2))
    labels[:, :8] = -100
    results = {}
    for device in ("cpu", "cuda"):
        student = _logits(0, shape, device, torch.float32).requires_grad_()
        teacher = _logits(1, shape, device, torch.float32)
        loss = chunked_generalized_jsd_loss(student, teacher, labels.to(device), beta=beta)
        loss.backward()
        results[device] = (loss.detach().cpu(), student.grad.cpu())
    torch.testing.assert_close(results["cuda"][0], results["cpu"][0], rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(results["cuda"][1], results["cpu"][1], rtol=1e-3, atol=1e-7)


def test_fused_loss_on_cuda_matches_its_cpu_result() -> None:
    import torch

    from gkd_schema.runner.loss.jsd_fused import fused_linear_generalized_jsd_loss

    hidden, vocab = 64, 4096
    results = {}
    for device in ("cpu", "cuda"):
        sh = _logits(0, (128, hidden), device, torch.float32).requires_grad_()
        sw = _logits(1, (vocab, hidden), device, torch.float32).mul_(0.1).requires_grad_()
        th = _logits(2, (128, hidden), device, torch.float32)
        tw = _logits(3, (vocab, hidden), device, torch.float32) * 0.1
        loss = fused_linear_generalized_jsd_loss(sh, sw, th, tw)
        loss.backward()
        results[device] = (loss.detach().cpu(), sh.grad.cpu(), sw.grad.cpu())
    for cuda, cpu in zip(results["cuda"], results["cpu"], strict=True):
        torch.testing.assert_close(cuda, cpu, rtol=1e-3, atol=1e-6)


def test_chunked_loss_under_bf16_autocast_stays_close_to_float32() -> None:
    import torch

    from gkd_schema.runner.loss.jsd_chunked import chunked_generalized_jsd_loss

    shape = (2, 64, 4096)
    f32 = torch.float32
    reference = chunked_generalized_jsd_loss(_logits(0, shape, "cuda", f32), _logits(1, shape, "cuda", f32))
    with torch.autocast("cuda", dtype=torch.bfloat16):
        student = _logits(0, shape, "cuda", torch.bfloat16).requires_grad_()
        loss = chunked_generalized_jsd_loss(student, _logits(1, shape, "cuda", torch.bfloat16))
    loss.backward()
    assert student.grad is not None and student.grad.dtype == torch.bfloat16
    torch.testing.assert_close(loss.float(), reference, rtol=2e-2, atol=1e-3)


@pytest.mark.skipif(importlib.util.find_spec("liger_kernel") is None, reason="liger-kernel is not installed")
def test_liger_loss_matches_chunked_on_cuda(tiny_teacher_dir: Path, tiny_student_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from gkd_schema.runner.loss.distillation import compute_distillation_loss

    student = AutoModelForCausalLM.from_pretrained(str(tiny_student_dir), dtype=torch.float32).cuda()
    teacher = AutoModelForCausalLM.from_pretrained(str(tiny_teacher_dir), dtype=torch.float32).cuda()
    ids = torch.randint(6, 100, (2, 24), device="cuda")
    labels = ids.clone()
    labels[:, :6] = -100
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
    losses = {
        impl: compute_distillation_loss(student, teacher, inputs, beta=0.5, temperature=1.0, implementation=impl)
        for impl in ("chunked", "liger")
    }
    torch.testing.assert_close(losses["liger"], losses["chunked"], rtol=1e-3, atol=1e-5)


def test_memory_estimate_is_within_a_factor_of_two_of_the_measured_peak(write_config: Any, tmp_path: Path) -> None:
    """The preflight's estimate for a short run against `torch.cuda.max_memory_allocated`."""
    import torch

    from gkd_schema.config.validation import validate_file
    from gkd_schema.runner.preflight.device_memory import device_memory
    from gkd_schema.runner.preflight.memory_check import CheckedModel, estimate_run_memory
    from gkd_schema.runner.preflight.weights import read_config
    from gkd_schema.runner.train.run import execute

    config = validate_file(write_config(tmp_path, training={"max_steps": 2, "save_strategy": "no"})).config
    assert config is not None
    models = [
        CheckedModel(Path(path), read_config(Path(path)) or {})
        for path in (config.model.name_or_path, config.gkd.teacher_model_name_or_path)
    ]
    estimate = estimate_run_memory(config, *models, device_memory())
    assert estimate is not None
    torch.cuda.reset_peak_memory_stats()
    assert execute(config, base_dir=tmp_path, echo=lambda _l: None) == 0
    peak = torch.cuda.max_memory_allocated()
    assert 0.5 <= estimate.total / peak <= 2.0, (estimate.breakdown(), peak)
