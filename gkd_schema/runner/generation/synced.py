"""What the vLLM backends share: an engine with its own copy of the weights, synced when they move.

A subclass says how to hand the engine the weights (`_push`) and how to sample token
ids (`_sample`); this class syncs at the first generation and whenever the weights
version moves, assembles TRL's tensors from the token lists, and keeps the statistics.
"""

from __future__ import annotations

import time
from typing import Any

from gkd_schema.runner.generation.backend import GenerationStats, count_completion_tokens
from gkd_schema.runner.generation.completions import completion_batch, prompt_token_lists


class SyncedBackend:
    """Samples with an engine that holds its own copy of the student's weights."""

    name = "synced"

    def __init__(self) -> None:
        self._synced_version: int | None = None
        self.stats = GenerationStats()

    def _push(self, model: Any) -> None:
        raise NotImplementedError

    def _sample(self, prompts: list[list[int]], generation_config: Any) -> list[list[int]]:
        raise NotImplementedError

    def close(self) -> None:
        """Nothing to release unless a subclass holds something outside this process."""

    def sync(self, model: Any) -> None:
        """Give the engine `model`'s current weights."""
        started = time.perf_counter()
        self._push(model)
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
        started = time.perf_counter()
        prompts, prompt_mask = inputs["prompts"], inputs["prompt_attention_mask"]
        completions = self._sample(prompt_token_lists(prompts, prompt_mask), generation_config)
        ids, mask, labels = completion_batch(
            prompts,
            prompt_mask,
            completions,
            pad_token_id=generation_config.pad_token_id,
            eos_token_id=generation_config.eos_token_id,
        )
        self.stats.generate_seconds += time.perf_counter() - started
        self.stats.generations += 1
        self.stats.completion_tokens += count_completion_tokens(mask, prompts.shape[1])
        return ids, mask, labels
