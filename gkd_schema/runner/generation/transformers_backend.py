"""The default backend: transformers' `generate` on the model being trained, through TRL."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from gkd_schema.runner.generation.backend import GenerationStats, count_completion_tokens


class TransformersBackend:
    """TRL's `generate_on_policy_outputs` inside its `unwrap_model_for_generation`.

    Args:
        generate_outputs: TRL's `GKDTrainer.generate_on_policy_outputs`.
        unwrap: TRL's `unwrap_model_for_generation` (gathers ZeRO-3 weights, turns
            gradient checkpointing off so that the KV cache can be used).
        accelerator: The trainer's accelerator.
        generation_kwargs: The trainer's generation kwargs (TRL applies them while unwrapped).
        gradient_checkpointing_kwargs: The run's, restored after generating.
    """

    name = "transformers"

    def __init__(
        self,
        generate_outputs: Callable[[Any, dict[str, Any], Any], tuple[Any, Any, Any]],
        unwrap: Callable[..., Any],
        accelerator: Any,
        generation_kwargs: dict[str, Any],
        gradient_checkpointing_kwargs: Any,
    ) -> None:
        self._generate_outputs = generate_outputs
        self._unwrap = unwrap
        self._accelerator = accelerator
        self._generation_kwargs = generation_kwargs
        self._gc_kwargs = gradient_checkpointing_kwargs
        self.stats = GenerationStats()

    def close(self) -> None:
        """Nothing to release: transformers samples the model in this process."""

    def generate(
        self, model: Any, inputs: dict[str, Any], generation_config: Any, *, weights_version: int
    ) -> tuple[Any, Any, Any]:
        """Sample with `model` itself; it always holds the current weights."""
        del weights_version
        started = time.perf_counter()
        with self._unwrap(
            model,
            self._accelerator,
            generation_kwargs=self._generation_kwargs,
            gradient_checkpointing_kwargs=self._gc_kwargs,
        ) as unwrapped:
            ids, mask, labels = self._generate_outputs(unwrapped, inputs, generation_config)
        self.stats.generate_seconds += time.perf_counter() - started
        self.stats.generations += 1
        self.stats.completion_tokens += count_completion_tokens(mask, inputs["prompts"].shape[1])
        return ids, mask, labels
