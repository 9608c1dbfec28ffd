"""The student's 4-bit load for QLoRA (`peft.load_in_4bit`): bitsandbytes' NF4 with double quantization.

Preflight has already refused QLoRA without CUDA or bitsandbytes (`environment.check_qlora`),
so this only turns the config into `from_pretrained` keyword arguments.
"""

from __future__ import annotations

from typing import Any

from gkd_schema.models.peft_section import PeftSection
from gkd_schema.runner.preflight.precision import Precision


def compute_dtype(precision: Precision) -> str:
    """The dtype the 4-bit layers compute in: the run's mixed precision, float32 without one."""
    return "bfloat16" if precision.bf16 else "float16" if precision.fp16 else "float32"


def quantized_load_kwargs(peft: PeftSection | None, precision: Precision) -> dict[str, Any]:
    """Extra `from_pretrained` arguments for the student: a 4-bit config, or nothing.

    Args:
        peft: The config's `peft` section (None without adapters).
        precision: The run's precision; the 4-bit layers compute in it.

    Returns:
        `{}` unless `peft.load_in_4bit`; then `quantization_config`, and a `device_map`
        naming this process's local GPU (each data-parallel rank holds its own copy).
    """
    if peft is None or not peft.load_in_4bit:
        return {}
    import torch
    from accelerate import PartialState
    from transformers import BitsAndBytesConfig

    config = BitsAndBytesConfig(  # type: ignore[no-untyped-call]
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",  # the QLoRA paper's data type for normally distributed weights
        bnb_4bit_use_double_quant=True,  # quantizes the quantization constants too: ~0.4 bits/param less
        bnb_4bit_compute_dtype=getattr(torch, compute_dtype(precision)),
    )
    # Quantized weights cannot be moved after loading, so they are placed at load time.
    return {"quantization_config": config, "device_map": {"": PartialState().local_process_index}}
