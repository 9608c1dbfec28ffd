"""The interface the trainer generates through, and what every backend measures.

The trainer hands a backend the batch's prompts and the sampling settings and gets back
TRL's three tensors: the prompt followed by the sampled completion (`input_ids`), the
mask of real tokens up to and including the first stop token (`attention_mask`), and
the labels (`-100` on the prompt and after the stop token). Which engine samples is
the backend's business; what is trained on is the same for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass
class GenerationStats:
    """Time and tokens of a run's generations, for the end summary and the benchmark."""

    generations: int = 0
    generate_seconds: float = 0.0
    completion_tokens: int = 0
    syncs: int = 0
    sync_seconds: float = 0.0

    @property
    def tokens_per_second(self) -> float | None:
        """Completion tokens per second of generation (sync excluded); None before any."""
        if self.generate_seconds <= 0:
            return None
        return self.completion_tokens / self.generate_seconds


class GenerationBackend(Protocol):
    """Samples completions for a batch of prompts."""

    name: str
    stats: GenerationStats

    def generate(
        self, model: Any, inputs: dict[str, Any], generation_config: Any, *, weights_version: int
    ) -> tuple[Any, Any, Any]:
        """`(input_ids, attention_mask, labels)` with `model`'s completions of `inputs["prompts"]`.

        Args:
            model: The model being trained (or, for `seq_kd`, the teacher), as the trainer holds it.
            inputs: The batch; `prompts` (left-padded ids) and `prompt_attention_mask` are read.
            generation_config: transformers' `GenerationConfig` of the run (sampling settings,
                `max_new_tokens`, `eos_token_id`, `pad_token_id`).
            weights_version: Changes whenever `model`'s weights may have changed (the optimizer
                step); a backend holding its own copy of the weights refreshes it then.
        """
        ...

    def close(self) -> None:
        """Release what the backend holds outside this process (a server's transfer group); idempotent."""
        ...


def count_completion_tokens(attention_mask: Any, prompt_width: int) -> int:
    """Completion tokens in a generated batch: the real ones, the stop token included."""
    return int(attention_mask[:, prompt_width:].sum().item())
