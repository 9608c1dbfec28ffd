"""The memory estimator and parameter counts, on known model shapes (no weights)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save_file

from gkd_schema.models import RunConfig
from gkd_schema.models.peft_section import PeftSection
from gkd_schema.runner.preflight import memory_check
from gkd_schema.runner.preflight.device_memory import DeviceMemory, system_ram_bytes
from gkd_schema.runner.preflight.memory import (
    CHUNK_BUFFERS_BYTES,
    MemoryInputs,
    estimate_memory,
    lora_parameters,
)
from gkd_schema.runner.preflight.memory_check import CheckedModel, check_memory, estimate_run_memory
from gkd_schema.runner.preflight.weights import (
    count_from_safetensors,
    count_parameters,
    estimate_from_config,
)

# config.json shapes of real checkpoints and their exact parameter counts (safetensors).
QWEN25_05B = {
    "model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864,
    "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2,
    "vocab_size": 151936, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
}  # fmt: skip
QWEN25_7B = {
    "model_type": "qwen2", "hidden_size": 3584, "intermediate_size": 18944,
    "num_attention_heads": 28, "num_hidden_layers": 28, "num_key_value_heads": 4,
    "vocab_size": 152064, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
}  # fmt: skip
LLAMA32_1B = {
    "model_type": "llama", "hidden_size": 2048, "intermediate_size": 8192, "head_dim": 64,
    "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8,
    "vocab_size": 128256, "tie_word_embeddings": True, "dtype": "bfloat16",
}  # fmt: skip


@pytest.mark.parametrize(
    ("config", "params"),
    [(QWEN25_05B, 494_032_768), (QWEN25_7B, 7_615_616_512), (LLAMA32_1B, 1_235_814_400)],
    ids=["qwen2.5-0.5b", "qwen2.5-7b", "llama3.2-1b"],
)
def test_parameter_estimate_from_config(config: dict[str, Any], params: int) -> None:
    assert estimate_from_config(config) == pytest.approx(params, rel=1e-3)


def test_multimodal_config_uses_text_config() -> None:
    assert estimate_from_config({"text_config": QWEN25_05B}) == estimate_from_config(QWEN25_05B)


def test_safetensors_headers_give_exact_counts(tmp_path: Path) -> None:
    save_file({"a": np.zeros((3, 4), np.float32), "b": np.zeros(5, np.float16)}, tmp_path / "m.safetensors")
    count = count_from_safetensors(tmp_path)
    assert count is not None and count.exact
    assert count.params == 17
    assert count.stored_bytes_per_param == pytest.approx((12 * 4 + 5 * 2) / 17)


def test_sharded_checkpoint_needs_every_shard(tmp_path: Path) -> None:
    save_file({"a": np.zeros((10, 10), np.float16)}, tmp_path / "model-00001-of-00002.safetensors")
    save_file({"b": np.zeros(10, np.float16)}, tmp_path / "model-00002-of-00002.safetensors")
    index = {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    count = count_parameters(tmp_path, QWEN25_05B)
    assert count is not None and (count.params, count.exact) == (110, True)
    (tmp_path / "model-00002-of-00002.safetensors").unlink()  # a partial download
    count = count_parameters(tmp_path, QWEN25_05B)
    assert count is not None and (count.params, count.exact) == (494_032_768, False)
    assert count.stored_bytes_per_param == 2


def _inputs(**changes: Any) -> MemoryInputs:
    base: dict[str, Any] = {
        "student_params": 1_000_000_000, "student_bytes": 2.0,
        "teacher_params": 7_000_000_000, "teacher_bytes": 2.0,
        "vocab_size": 150_000, "hidden_size": 1024, "num_layers": 24,
        "batch_size": 4, "max_length": 1024, "beta": 0.5,
        "loss_implementation": "trl", "gradient_checkpointing": False,
    }  # fmt: skip
    return MemoryInputs(**{**base, **changes})


def test_full_finetuning_keeps_grads_and_adamw_in_the_load_dtype() -> None:
    bf16 = estimate_memory(_inputs())
    assert (bf16.student_weights, bf16.gradients, bf16.optimizer_state) == (2e9, 2e9, 4e9)
    assert bf16.teacher_weights == 14e9
    fp32 = estimate_memory(_inputs(student_bytes=4.0))
    assert (fp32.student_weights, fp32.gradients, fp32.optimizer_state) == (4e9, 4e9, 8e9)


def test_lora_trains_only_float32_adapters() -> None:
    estimate = estimate_memory(_inputs(lora_rank=16))
    adapters = lora_parameters(1024, 24, 16)
    assert estimate.trainable_params == adapters
    assert estimate.student_weights == 2e9 + adapters * 4
    assert (estimate.gradients, estimate.optimizer_state) == (adapters * 4, adapters * 8)


@pytest.mark.parametrize(
    ("loss", "beta", "factor"),
    [("trl", 0.5, 15), ("trl", 0.0, 8), ("trl", 1.0, 8), ("chunked", 0.5, 3), ("fused", 0.5, 1)],
)
def test_logits_memory_by_loss(loss: str, beta: float, factor: int) -> None:
    estimate = estimate_memory(_inputs(loss_implementation=loss, beta=beta))
    extra = 0 if loss == "trl" else CHUNK_BUFFERS_BYTES
    assert estimate.logits == 4 * 1024 * 150_000 * 4 * factor + extra


def test_gradient_checkpointing_shrinks_activations() -> None:
    plain = estimate_memory(_inputs()).activations
    checkpointed = estimate_memory(_inputs(gradient_checkpointing=True)).activations
    assert checkpointed < plain / 5


def test_system_ram_is_known() -> None:
    ram = system_ram_bytes()
    assert ram is not None and ram > 2**30


def _qwen_run(tmp_path: Path, **training: Any) -> tuple[RunConfig, CheckedModel, CheckedModel]:
    """A Qwen2.5 0.5B student and 7B teacher, shapes only (config.json without weights)."""
    config = RunConfig.model_validate(
        {
            "model": {"name_or_path": "./student"},
            "gkd": {"teacher_model_name_or_path": "./teacher", "loss_implementation": "trl"},
            "data": {"train": {"path": "train.jsonl"}},
            "training": {"output_dir": "out", "max_length": 2048, **training},
        }
    )
    return config, CheckedModel(tmp_path, QWEN25_05B), CheckedModel(tmp_path, QWEN25_7B)


def test_warns_when_the_estimate_exceeds_the_device(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gpu = DeviceMemory("cuda:0 (test GPU)", 24 * 2**30, accelerator=True)
    monkeypatch.setattr(memory_check, "device_memory", lambda: gpu)
    found = check_memory(*_qwen_run(tmp_path))
    assert [(d.type, d.severity, d.loc) for d in found] == [
        ("memory_estimate_exceeds_device", "warning", ("gkd", "loss_implementation"))
    ]
    message = found[0].message
    assert "cuda:0 (test GPU) has 24.0 GiB" in message
    assert "`gkd.loss_implementation: chunked`" in message and "LoRA" in message


def test_no_warning_when_it_fits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gpu = DeviceMemory("cuda:0 (H200)", 141 * 2**30, accelerator=True)
    monkeypatch.setattr(memory_check, "device_memory", lambda: gpu)
    assert check_memory(*_qwen_run(tmp_path, per_device_train_batch_size=1)) == []


def test_a_qlora_base_counts_about_half_a_byte_per_weight(tmp_path: Path) -> None:
    gpu = DeviceMemory("cuda:0 (test GPU)", 80 * 2**30, accelerator=True)
    config, student, teacher = _qwen_run(tmp_path)
    lora = config.model_copy(update={"peft": PeftSection()})
    qlora = config.model_copy(update={"peft": PeftSection(load_in_4bit=True)})
    plain, quantized = (estimate_run_memory(c, student, teacher, gpu) for c in (lora, qlora))
    assert plain is not None and quantized is not None
    # bf16 weights take 2 bytes each; NF4 with double-quantized constants about 0.52.
    assert 0.2 < quantized.student_weights / plain.student_weights < 0.3
