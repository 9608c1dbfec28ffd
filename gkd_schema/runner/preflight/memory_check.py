"""Compare a run's estimated memory with the device's, and warn before an OOM."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gkd_schema.config.diagnostics import Diagnostic
from gkd_schema.models import RunConfig
from gkd_schema.runner.preflight.device_memory import DeviceMemory, device_memory
from gkd_schema.runner.preflight.memory import MemoryEstimate, MemoryInputs, estimate_memory, gib
from gkd_schema.runner.preflight.precision import auto_load_dtype, cpu_native_bf16
from gkd_schema.runner.preflight.weights import (
    TORCH_DTYPE_BYTES,
    ParamCount,
    config_dtype,
    count_parameters,
    text_config,
    vocab_size,
)

# A QLoRA base: 4-bit NF4 weights plus their double-quantized constants (~0.127 bits each).
QLORA_BYTES = 0.52


@dataclass(frozen=True)
class CheckedModel:
    """A model whose config.json was read: where it is and what it says."""

    directory: Path
    config: dict[str, Any]


def _load_bytes(
    requested: str, role: Literal["student", "teacher"], model: CheckedModel, count: ParamCount, on_gpu: bool
) -> float:
    """Bytes per parameter once loaded: the requested dtype; `auto` as gkd resolves it.

    gkd loads `auto` in the checkpoint's own dtype on an accelerator and as float32 on
    a CPU, except a bf16 teacher on a CPU with native bf16 (`runner/preflight/precision.py`).
    """
    saved = config_dtype(model.config)
    if requested == "auto":
        requested = auto_load_dtype(
            role, device_kind="cuda" if on_gpu else "cpu", native_bf16=cpu_native_bf16(), stored=saved
        )
    if requested != "auto":
        return float(TORCH_DTYPE_BYTES[requested])
    return float(TORCH_DTYPE_BYTES[saved]) if saved else count.stored_bytes_per_param


def estimate_run_memory(
    config: RunConfig, student: CheckedModel, teacher: CheckedModel, device: DeviceMemory | None
) -> MemoryEstimate | None:
    """The memory estimate of a run, or None when a checkpoint's size is unknown.

    Args:
        config: The run config.
        student: The student's folder and config.json.
        teacher: The teacher's folder and config.json.
        device: The training device (decides how `auto` dtypes load); None for CPU.

    Returns:
        The estimate per device, term by term.
    """
    student_count = count_parameters(student.directory, student.config)
    # A served teacher holds no memory here (its folder may not even have weights).
    served = config.teacher.backend == "server"
    teacher_count = None if served else count_parameters(teacher.directory, teacher.config)
    vocab = vocab_size(student.config)
    if student_count is None or (teacher_count is None and not served) or vocab is None:
        return None
    on_gpu = bool(device and device.accelerator)
    teacher_dtype = str(config.gkd.teacher_model_init_kwargs.get("dtype", "auto"))
    teacher_params = teacher_count.params if teacher_count is not None else 0
    teacher_bytes = _load_bytes(teacher_dtype, "teacher", teacher, teacher_count, on_gpu) if teacher_count else 0.0
    shape = text_config(student.config)
    return estimate_memory(
        MemoryInputs(
            student_params=student_count.params,
            student_bytes=(
                QLORA_BYTES
                if config.peft is not None and config.peft.load_in_4bit
                else _load_bytes(config.model.dtype, "student", student, student_count, on_gpu)
            ),
            teacher_params=teacher_params,
            teacher_bytes=teacher_bytes,
            vocab_size=vocab,
            hidden_size=int(shape.get("hidden_size") or 0),
            num_layers=int(shape.get("num_hidden_layers") or 0),
            batch_size=config.training.per_device_train_batch_size,
            max_length=config.training.max_length,
            beta=config.gkd.beta,
            loss_implementation=config.gkd.loss_implementation,
            gradient_checkpointing=config.training.gradient_checkpointing,
            lora_rank=config.peft.r if config.peft is not None else None,
        )
    )


def _fixes(config: RunConfig, estimate: MemoryEstimate) -> list[str]:
    """The changes that shrink the largest terms, most effective first."""
    fixes = []
    if config.gkd.loss_implementation == "trl" and estimate.logits > estimate.total / 4:
        fixes.append("`gkd.loss_implementation: chunked` (a fraction of TRL's loss memory)")
    if config.training.per_device_train_batch_size > 1:
        fixes.append(
            "a smaller `training.per_device_train_batch_size` with more "
            "`gradient_accumulation_steps`"
        )
    if config.peft is None:
        fixes.append("LoRA (a `peft` section: no gradients or AdamW state for the base)")
    if not config.training.gradient_checkpointing:
        fixes.append("`training.gradient_checkpointing: true`")
    fixes.append("a shorter `training.max_length`")
    return fixes


def check_memory(
    config: RunConfig, student: CheckedModel, teacher: CheckedModel
) -> list[Diagnostic]:
    """A warning when the estimate exceeds the device's total memory.

    Args:
        config: The run config.
        student: The student's folder and config.json.
        teacher: The teacher's folder and config.json.

    Returns:
        At most one warning, with the numbers and the fixes.
    """
    device = device_memory()
    estimate = estimate_run_memory(config, student, teacher, device)
    if estimate is None or device is None or estimate.total <= device.total_bytes:
        return []
    largest_is_loss = config.gkd.loss_implementation == "trl" and estimate.logits == max(
        estimate.logits, estimate.student_weights, estimate.teacher_weights, estimate.activations
    )
    loc = (
        ("gkd", "loss_implementation")
        if largest_is_loss
        else ("training", "per_device_train_batch_size")
    )
    return [
        Diagnostic(
            loc=loc,
            message=(
                f"this run needs about {gib(estimate.total)} per device ("
                f"{estimate.breakdown()}) but {device.name} has {gib(device.total_bytes)}; "
                f"expect an out-of-memory error. Try {'; '.join(_fixes(config, estimate))}. "
                "(An estimate: see docs/preflight.md for what it counts.)"
            ),
            type="memory_estimate_exceeds_device",
            severity="warning",
        )
    ]
