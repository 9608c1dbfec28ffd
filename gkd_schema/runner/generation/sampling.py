"""The run's sampling settings in vLLM's terms, for the engine in process and the server alike."""

from __future__ import annotations

from typing import Any

from gkd_schema.runner.generation.completions import stop_ids


def sampling_settings(generation_config: Any) -> dict[str, Any]:
    """vLLM sampling keywords that sample as transformers would with `generation_config`.

    Only the config's stop tokens end a completion (`ignore_eos` keeps vLLM from adding
    the tokenizer's); greedy when the config does not sample.
    """
    greedy = not getattr(generation_config, "do_sample", False)
    return {
        "n": 1,
        "max_tokens": generation_config.max_new_tokens,
        "temperature": 0.0 if greedy else float(generation_config.temperature),
        "top_k": int(generation_config.top_k or 0),
        "top_p": float(generation_config.top_p if generation_config.top_p is not None else 1.0),
        "min_p": float(getattr(generation_config, "min_p", None) or 0.0),
        "repetition_penalty": float(getattr(generation_config, "repetition_penalty", None) or 1.0),
        "stop_token_ids": stop_ids(generation_config.eos_token_id),
        "ignore_eos": True,
    }
