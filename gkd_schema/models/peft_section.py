"""The optional `peft` section: train LoRA adapters instead of all student weights."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gkd_schema.models.base import StrictModel


class PeftSection(StrictModel):
    """LoRA adapters on the student (through the `peft` library)."""

    method: Literal["lora"] = Field(default="lora", description="Adapter method; only LoRA for now.")
    r: int = Field(default=16, ge=1, description="LoRA rank.")
    lora_alpha: int = Field(default=32, ge=1, description="LoRA scaling numerator (scale = alpha / r).")
    lora_dropout: float = Field(default=0.05, ge=0.0, lt=1.0, description="Dropout on the LoRA path.")
    target_modules: Literal["all-linear"] | list[str] = Field(
        default="all-linear",
        description="Module names to adapt, or `all-linear` for every linear layer but the output head.",
    )
    bias: Literal["none", "all", "lora_only"] = Field(default="none", description="Which biases to train.")
    load_in_4bit: bool = Field(
        default=False,
        description=(
            "QLoRA: load the frozen student base in 4-bit NF4 (bitsandbytes, double quantization; computes in "
            "the run's bf16/fp16) and train LoRA adapters on it. Needs a CUDA GPU and `pip install 'gkd[qlora]'`; "
            "`gkd validate --deep` refuses it elsewhere."
        ),
    )
