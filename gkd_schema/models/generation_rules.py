"""Cross-field rules of the `generation` section: what the vLLM backend cannot do, and keys it ignores."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from gkd_schema.models.rule_types import Finding, RunSections


def _seq_kd_with_vllm(cfg: RunSections) -> Iterator[Finding]:
    # The engine holds the student; a second engine for the teacher would double the
    # memory colocate mode is meant to save, so seq_kd keeps transformers for now.
    if cfg.generation.backend == "vllm" and cfg.gkd.seq_kd and cfg.gkd.lmbda < 1.0:
        yield Finding(
            ("gkd", "seq_kd"),
            "`seq_kd` batches are the teacher's completions, and `generation.backend: vllm` "
            "samples only the student's; set `seq_kd: false` (on-policy batches still use vLLM) "
            "or `generation.backend: transformers`",
            "seq_kd_needs_transformers_generation",
            "error",
        )


def _vllm_settings_unused(cfg: RunSections) -> Iterator[Finding]:
    if cfg.generation.backend != "vllm" and cfg.generation.vllm.model_fields_set:
        yield Finding(
            ("generation", "vllm"),
            "`generation.vllm` is read only with `generation.backend: vllm`; set the backend "
            "or remove the section",
            "vllm_settings_unused",
            "warning",
        )


_COLOCATE_ONLY = ("gpu_memory_utilization", "kv_cache_gib", "tensor_parallel_size", "max_model_len",
                  "enable_prefix_caching")


def _colocate_settings_in_server_mode(cfg: RunSections) -> Iterator[Finding]:
    vllm = cfg.generation.vllm
    if cfg.generation.backend != "vllm" or vllm.mode != "server":
        return
    for key in _COLOCATE_ONLY:
        if key in vllm.model_fields_set:
            yield Finding(
                ("generation", "vllm", key),
                f"`{key}` configures a colocated engine; a server takes its own from its command "
                "line (docs/running.md); remove it",
                "vllm_colocate_setting_in_server_mode",
                "warning",
            )


def _max_model_len(cfg: RunSections) -> Iterator[Finding]:
    limit = cfg.generation.vllm.max_model_len
    colocated = cfg.generation.backend == "vllm" and cfg.generation.vllm.mode == "colocate"
    if colocated and limit is not None and limit < cfg.training.max_length:
        yield Finding(
            ("generation", "vllm", "max_model_len"),
            f"`max_model_len: {limit}` is shorter than `training.max_length` "
            f"({cfg.training.max_length}), so the engine would refuse the longest prompts with "
            f"their completions; raise it to at least {cfg.training.max_length} or remove it",
            "vllm_max_model_len_too_short",
            "error",
        )


GENERATION_RULES: tuple[Callable[[RunSections], Iterator[Finding]], ...] = (
    _seq_kd_with_vllm,
    _vllm_settings_unused,
    _max_model_len,
    _colocate_settings_in_server_mode,
)
