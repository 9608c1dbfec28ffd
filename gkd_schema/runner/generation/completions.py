"""Token lists from an engine into the tensors TRL trains on, exactly as `generate` would give them.

TRL's `generate_on_policy_outputs` takes transformers' `generate` output: the
left-padded prompts, then completions right-padded with the pad id to the longest one
in the batch (rows that stop early are padded after their stop token). The mask keeps
the prompt's real tokens and each completion up to and including its first stop token;
the labels are the ids with `-100` wherever the mask is 0 and on the whole prompt. An
engine that returns token lists (vLLM) is assembled here into the same tensors, so that
switching backend changes speed, not what is trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def prompt_token_lists(prompts: Any, prompt_mask: Any) -> list[list[int]]:
    """Each row's prompt ids without its padding (the mask, not the pad id, says which)."""
    return [row[mask.bool()].tolist() for row, mask in zip(prompts, prompt_mask, strict=True)]


def stop_ids(eos_token_id: int | Sequence[int] | None) -> list[int]:
    """The stop token ids of a `GenerationConfig.eos_token_id` (one id, a list, or none)."""
    if eos_token_id is None:
        return []
    if isinstance(eos_token_id, int):
        return [eos_token_id]
    return [int(i) for i in eos_token_id]


def completion_batch(
    prompts: Any,
    prompt_mask: Any,
    completions: Sequence[Sequence[int]],
    *,
    pad_token_id: int,
    eos_token_id: int | Sequence[int] | None,
) -> tuple[Any, Any, Any]:
    """`(input_ids, attention_mask, labels)` as TRL builds them from `generate`'s output.

    Args:
        prompts: Left-padded prompt ids, `(batch, prompt_width)`.
        prompt_mask: Their attention mask.
        completions: Each row's sampled ids, in order, ending at (and including) a stop
            token or at `max_new_tokens`.
        pad_token_id: Fills completions shorter than the longest.
        eos_token_id: The stop tokens (`GenerationConfig.eos_token_id`).
    """
    import torch

    batch, prompt_width = prompts.shape
    width = max((len(c) for c in completions), default=0)
    completion_ids = torch.full((batch, width), pad_token_id, dtype=prompts.dtype, device=prompts.device)
    for row, ids in enumerate(completions):
        if ids:
            completion_ids[row, : len(ids)] = torch.tensor(list(ids), dtype=prompts.dtype)
    completion_mask = torch.zeros((batch, width), dtype=torch.long, device=prompts.device)
    stops = set(stop_ids(eos_token_id))
    for row, ids in enumerate(completions):
        end = next((i + 1 for i, token in enumerate(ids) if token in stops), len(ids))
        completion_mask[row, :end] = 1
    input_ids = torch.cat([prompts, completion_ids], dim=1)
    attention_mask = torch.cat([prompt_mask.to(torch.long), completion_mask], dim=1)
    labels = input_ids.clone()
    labels[attention_mask == 0] = -100
    labels[:, :prompt_width] = -100
    return input_ids, attention_mask, labels
