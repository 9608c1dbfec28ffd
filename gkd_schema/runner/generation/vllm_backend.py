"""On-policy completions from a colocated vLLM engine, trained on as the token ids it returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gkd_schema.runner.generation.sampling import sampling_settings
from gkd_schema.runner.generation.synced import SyncedBackend
from gkd_schema.runner.generation.vllm_sync import push_weights


def sampling_params(generation_config: Any) -> Any:
    """vLLM `SamplingParams` for the run's settings; nothing is decoded: the ids are what is trained on."""
    from vllm import SamplingParams

    return SamplingParams(**sampling_settings(generation_config), detokenize=False)


class VllmBackend(SyncedBackend):
    """Samples with a vLLM engine that is given the student's weights after every optimizer step.

    Args:
        llm: The engine (`vllm_engine.start_engine`).
        unwrap_model: Returns the bare model from what the trainer holds (DDP wrapper...).
    """

    name = "vllm"

    def __init__(self, llm: Any, unwrap_model: Callable[[Any], Any]) -> None:
        super().__init__()
        self.llm = llm
        self._unwrap = unwrap_model

    def _push(self, model: Any) -> None:
        push_weights(self.llm, self._unwrap(model))

    def _sample(self, prompts: list[list[int]], generation_config: Any) -> list[list[int]]:
        from vllm.inputs import TokensPrompt

        requests = [TokensPrompt(prompt_token_ids=ids) for ids in prompts]
        outputs = self.llm.generate(requests, sampling_params(generation_config), use_tqdm=False)
        return [list(out.outputs[0].token_ids) for out in outputs]
