"""What `generation.backend: vllm` needs from the machine, checked before any weights load.

Without these the run fails minutes later: vLLM missing at the engine's start, a model
the CPU build cannot run at the first generate (it builds, then its attention kernel
has no code for the head size), several training processes that each try to start an
engine, a 4-bit student whose merged weights the engine cannot take, or a weight
broadcast to a server that this side cannot send.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from gkd_schema.config.diagnostics import Diagnostic, Loc
from gkd_schema.models import RunConfig
from gkd_schema.models.generation_section import VLLM_INSTALL_CPU, VLLM_INSTALL_GPU
from gkd_schema.runner.preflight.locate import locate_model
from gkd_schema.runner.preflight.weights import read_config

BACKEND_LOC: Loc = ("generation", "backend")
SYNC_LOC: Loc = ("generation", "vllm", "weight_sync")
# vLLM 0.32's CPU attention (`cpu_attn`) has kernels for these head sizes only.
CPU_HEAD_DIMS = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)


def vllm_installed() -> bool:
    """Whether `import vllm` can find the package (nothing is imported)."""
    try:
        return importlib.util.find_spec("vllm") is not None
    except (ImportError, ValueError):
        return False


def head_dim(model_config: dict[str, Any]) -> int | None:
    """The attention head size of a config.json: `head_dim`, else hidden size over heads."""
    text = model_config.get("text_config")
    if isinstance(text, dict):
        model_config = text
    explicit = model_config.get("head_dim")
    if isinstance(explicit, int) and explicit > 0:
        return explicit
    hidden, heads = model_config.get("hidden_size"), model_config.get("num_attention_heads")
    if isinstance(hidden, int) and isinstance(heads, int) and heads > 0:
        return hidden // heads
    return None


def _cpu_head_dim(config: RunConfig, base_dir: Path) -> list[Diagnostic]:
    found, _ = locate_model(
        config.model.name_or_path, loc=("model", "name_or_path"), base_dir=base_dir, revision=config.model.revision
    )
    model_config = read_config(found.directory) if found is not None else None
    size = head_dim(model_config) if model_config is not None else None
    if size is None or size in CPU_HEAD_DIMS:
        return []  # an unreadable config is the model checks' to report
    return [
        Diagnostic(
            BACKEND_LOC,
            f"the student's attention heads are {size} wide, and vLLM's CPU build runs only head "
            f"sizes {', '.join(map(str, CPU_HEAD_DIMS))} (it would fail at the first generate); "
            "use `generation.backend: transformers` on this machine, or a GPU",
            "vllm_head_dim_unsupported",
        )
    ]


def check_vllm(config: RunConfig, *, base_dir: Path, device_kind: str) -> list[Diagnostic]:
    """Errors for a vLLM backend this machine or this run cannot use; nothing otherwise."""
    generation = config.generation
    if generation.backend != "vllm":
        return []
    out = (
        _colocated(config, base_dir, device_kind)
        if generation.vllm.mode == "colocate"
        else _broadcast(generation.vllm.weight_sync, device_kind)
    )
    if config.peft is not None and config.peft.load_in_4bit:
        out.append(
            Diagnostic(
                BACKEND_LOC,
                "a 4-bit (QLoRA) student cannot hand merged weights to vLLM; use `generation.backend: "
                "transformers` with `peft.load_in_4bit`, or LoRA without it",
                "vllm_qlora_unsupported",
            )
        )
    return out


def _broadcast(weight_sync: str, device_kind: str) -> list[Diagnostic]:
    """What sending the weights by broadcast needs on this side: vLLM's trainer engine, CUDA for NCCL."""
    if weight_sync == "checkpoint":
        return []
    out: list[Diagnostic] = []
    if not vllm_installed():
        out.append(
            Diagnostic(
                SYNC_LOC,
                f"`weight_sync: {weight_sync}` sends the weights with vLLM's weight-transfer engine, so vLLM must "
                f"be installed here too: `{VLLM_INSTALL_GPU}` on a GPU machine, `{VLLM_INSTALL_CPU}` on a CPU one; "
                "or use `weight_sync: checkpoint`",
                "vllm_weight_sync_needs_vllm",
            )
        )
    if weight_sync == "nccl" and device_kind != "cuda":
        out.append(
            Diagnostic(
                SYNC_LOC,
                f"`weight_sync: nccl` broadcasts from a CUDA GPU, and this run's student is on `{device_kind}`; "
                "use `weight_sync: gloo` (any device) or `checkpoint`",
                "vllm_weight_sync_nccl_needs_cuda",
            )
        )
    return out


def _colocated(config: RunConfig, base_dir: Path, device_kind: str) -> list[Diagnostic]:
    """What an engine inside the training process needs: vLLM here, a device it runs on, one device."""
    generation = config.generation
    out: list[Diagnostic] = []
    if not vllm_installed():
        out.append(
            Diagnostic(
                BACKEND_LOC,
                f"`generation.backend: vllm` needs vLLM, which is not installed here: `{VLLM_INSTALL_GPU}` on a "
                f"GPU machine, `{VLLM_INSTALL_CPU}` on a CPU one (docs/running.md); or use `backend: transformers`",
                "vllm_not_installed",
            )
        )
    if device_kind not in ("cpu", "cuda"):
        out.append(
            Diagnostic(
                BACKEND_LOC,
                f"vLLM runs on CUDA GPUs and CPUs, not on this run's `{device_kind}` device; "
                "use `generation.backend: transformers`",
                "vllm_unsupported_device",
            )
        )
    tensor_parallel = generation.vllm.tensor_parallel_size
    if tensor_parallel > 1:
        out.append(
            Diagnostic(
                ("generation", "vllm", "tensor_parallel_size"),
                f"`tensor_parallel_size: {tensor_parallel}`: a colocated engine spans one device in this "
                "version of gkd; set it to 1",
                "vllm_tensor_parallel_unsupported",
            )
        )
    if device_kind == "cpu":
        out += _cpu_head_dim(config, base_dir)
    return out
