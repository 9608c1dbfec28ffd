"""On-policy completions from a colocated vLLM engine, trained on as the token ids it returns."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from gkd_schema.runner.generation.backend import GenerationStats, count_completion_tokens
from gkd_schema.runner.generation.completions import completion_batch, prompt_token_lists
from gkd_schema.runner.generation.sampling import sampling_settings
from gkd_schema.runner.generation.vllm_sync import push_weights


def sampling_params(generation_config: Any) -> Any:
    """vLLM `SamplingParams` for the run's settings; nothing is decoded: the ids are what is trained on."""
    from vllm import SamplingParams

    return SamplingParams(**sampling_settings(generation_config), detokenize=False)


class VllmBackend:
    """Samples with a vLLM engine that is given the student's weights after every optimizer step.

    Args:
        llm: The engine (`vllm_engine.start_engine`).
        unwrap_model: Returns the bare model from what the trainer holds (DDP wrapper...).
    """

    name = "vllm"

    def __init__(self, llm: Any, unwrap_model: Callable[[Any], Any]) -> None:
        self.llm = llm
        self._unwrap = unwrap_model
        self._synced_version: int | None = None
        self.stats = GenerationStats()

    def sync(self, model: Any) -> None:
        """Give the engine `model`'s current weights."""
        started = time.perf_counter()
        push_weights(self.llm, self._unwrap(model))
        self.stats.sync_seconds += time.perf_counter() - started
        self.stats.syncs += 1

    def generate(
        self, model: Any, inputs: dict[str, Any], generation_config: Any, *, weights_version: int
    ) -> tuple[Any, Any, Any]:
        """Sync if the weights changed since the last sync, then sample one completion per prompt."""
        # The first generation syncs too: the student in memory may differ from the
        # checkpoint the engine loaded (a resumed run, a dtype cast, an adapter).
        if weights_version != self._synced_version:
            self.sync(model)
            self._synced_version = weights_version
        from vllm.inputs import TokensPrompt

        started = time.perf_counter()
        prompts, prompt_mask = inputs["prompts"], inputs["prompt_attention_mask"]
        requests = [TokensPrompt(prompt_token_ids=ids) for ids in prompt_token_lists(prompts, prompt_mask)]
        outputs = self.llm.generate(requests, sampling_params(generation_config), use_tqdm=False)
        ids, mask, labels = completion_batch(
            prompts,
            prompt_mask,
            [list(out.outputs[0].token_ids) for out in outputs],
            pad_token_id=generation_config.pad_token_id,
            eos_token_id=generation_config.eos_token_id,
        )
        self.stats.generate_seconds += time.perf_counter() - started
        self.stats.generations += 1
        self.stats.completion_tokens += count_completion_tokens(mask, prompts.shape[1])
        return ids, mask, labels
