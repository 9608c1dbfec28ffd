"""Token lists from an engine become exactly the tensors TRL builds from transformers' `generate`."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch
from transformers import GenerationConfig

from gkd_schema.runner.generation.completions import completion_batch, prompt_token_lists, stop_ids
from gkd_schema.runner.preflight.trl_compat import gkd_classes

PAD = 0


class _Generated:
    """A stand-in for a model whose `generate` returns fixed sequences (what TRL post-processes)."""

    def __init__(self, sequences: torch.Tensor) -> None:
        self.sequences = sequences

    def generate(self, **_: Any) -> Any:
        return SimpleNamespace(sequences=self.sequences)


def _trl(prompts: torch.Tensor, mask: torch.Tensor, completions: list[list[int]], eos: Any) -> Any:
    """TRL's own post-processing of `generate`'s output: prompt, completions padded with PAD."""
    width = max(len(c) for c in completions)
    padded = torch.tensor([c + [PAD] * (width - len(c)) for c in completions], dtype=torch.long)
    model = _Generated(torch.cat([prompts, padded], dim=1))
    config = GenerationConfig(eos_token_id=eos, pad_token_id=PAD)
    inputs = {"prompts": prompts, "prompt_attention_mask": mask}
    return gkd_classes()[1].generate_on_policy_outputs(model, inputs, config)


PROMPTS = torch.tensor([[0, 0, 5, 6], [7, 8, 9, 10], [0, 0, 0, 11]])
MASK = (PROMPTS != 0).long()


@pytest.mark.parametrize(
    ("completions", "eos"),
    [
        ([[12, 13, 1], [14, 1], [15, 16, 17]], 1),  # early stops, one row runs to the limit
        ([[12, 2, 13], [1], [15, 16, 17]], [1, 2]),  # a list of stop ids; a stop mid-row
        ([[12, 13], [14, 15], [16, 17]], None),  # no stop token at all
        ([[1], [1], [1]], 1),  # everyone stops at once
    ],
)
def test_the_tensors_equal_trls_from_generate(completions: list[list[int]], eos: Any) -> None:
    got = completion_batch(PROMPTS, MASK, completions, pad_token_id=PAD, eos_token_id=eos)
    want = _trl(PROMPTS, MASK, completions, eos)
    for a, b in zip(got, want, strict=True):
        assert a.dtype == b.dtype
        assert torch.equal(a, b), (a, b)


def test_a_pad_id_inside_a_prompt_is_kept_because_the_mask_says_so() -> None:
    prompts = torch.tensor([[0, 4, 0, 5]])  # the second 0 is real text
    mask = torch.tensor([[0, 1, 1, 1]])
    assert prompt_token_lists(prompts, mask) == [[4, 0, 5]]


def test_stop_ids_read_every_form_of_eos_token_id() -> None:
    assert stop_ids(None) == []
    assert stop_ids(3) == [3]
    assert stop_ids([3, 4]) == [3, 4]
