"""The arithmetic of `gkd eval`: greedy completions and per-token divergences to the teacher.

Everything here works on token ids and models; no files, no configs, no printing.
Divergences use temperature 1 (the distributions the models actually assign), in nats
per completion token, and follow the GKD paper's conventions: forward KL is
KL(teacher || student), reverse KL is KL(student || teacher), JSD is the
generalized Jensen-Shannon divergence at beta 0.5.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_LOG_HALF = math.log(0.5)


@dataclass(frozen=True)
class Divergences:
    """Mean per-token divergences of a model to the teacher over a set of completions.

    Attributes:
        forward_kl: KL(teacher || model), nats per token.
        reverse_kl: KL(model || teacher), nats per token.
        jsd: Jensen-Shannon divergence (beta 0.5), nats per token.
        tokens: Completion tokens averaged over.
    """

    forward_kl: float
    reverse_kl: float
    jsd: float
    tokens: int


def eos_ids(model: Any, tokenizer: Any) -> list[int]:
    """The token ids that end a completion: the model's generation config, else the tokenizer's."""
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if eos is None:
        eos = tokenizer.eos_token_id
    if eos is None:
        return []
    return [int(e) for e in eos] if isinstance(eos, list | tuple) else [int(eos)]


def _cut_at_eos(ids: list[int], stop: Sequence[int]) -> list[int]:
    """Keep a completion up to and including its first end token (drops padding after it)."""
    for i, tok in enumerate(ids):
        if tok in stop:
            return ids[: i + 1]
    return ids


def _device(model: Any) -> Any:
    return next(model.parameters()).device


def greedy_completions(
    model: Any,
    tokenizer: Any,
    prompt_ids: Sequence[Sequence[int]],
    *,
    max_new_tokens: int,
    batch_size: int,
) -> list[list[int]]:
    """Greedy completions of each prompt, cut after the first end token.

    Args:
        model: A causal LM (its training mode is restored afterwards).
        tokenizer: Supplies the pad token.
        prompt_ids: Token ids of each prompt, chat template applied.
        max_new_tokens: Longest completion.
        batch_size: Prompts generated together.

    Returns:
        One list of completion token ids per prompt.
    """
    import torch
    from transformers import GenerationConfig

    stop = eos_ids(model, tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (stop or [0])[0]
    # An explicit config: sampling settings saved with the model must not leak into greedy decoding.
    gen = GenerationConfig(  # type: ignore[no-untyped-call]
        do_sample=False,
        max_new_tokens=max_new_tokens,
        eos_token_id=stop or None,
        pad_token_id=pad,
        use_cache=True,
    )
    device = _device(model)
    was_training = model.training
    model.eval()
    out: list[list[int]] = []
    try:
        with torch.no_grad():
            for start in range(0, len(prompt_ids), batch_size):
                chunk = prompt_ids[start : start + batch_size]
                width = max(len(p) for p in chunk)
                # Left padding, so every prompt ends where generation starts.
                ids = torch.tensor([[pad] * (width - len(p)) + list(p) for p in chunk], device=device)
                mask = torch.tensor(
                    [[0] * (width - len(p)) + [1] * len(p) for p in chunk], device=device
                )
                seqs = model.generate(input_ids=ids, attention_mask=mask, generation_config=gen)
                out.extend(_cut_at_eos(row[width:].tolist(), stop) for row in seqs)
    finally:
        model.train(was_training)
    return out


def _token_sums(student_logits: Any, teacher_logits: Any) -> tuple[float, float, float]:
    """Summed forward KL, reverse KL and JSD over rows of `[tokens, vocab]` logits."""
    import torch
    import torch.nn.functional as F

    log_s = F.log_softmax(student_logits.float(), dim=-1)
    log_t = F.log_softmax(teacher_logits.float(), dim=-1)
    p_s, p_t = log_s.exp(), log_t.exp()
    log_m = torch.logaddexp(log_s + _LOG_HALF, log_t + _LOG_HALF)
    jsd = 0.5 * (p_t * (log_t - log_m)).sum(-1) + 0.5 * (p_s * (log_s - log_m)).sum(-1)
    # Each term is >= 0 in exact arithmetic; clamp float noise so a model scored against
    # itself reads 0, not -0.0000.
    return (
        float((p_t * (log_t - log_s)).sum(-1).clamp_min(0).sum()),
        float((p_s * (log_s - log_t)).sum(-1).clamp_min(0).sum()),
        float(jsd.clamp_min(0).sum()),
    )


def divergences(
    model: Any,
    teacher: Any,
    prompt_ids: Sequence[Sequence[int]],
    completion_ids: Sequence[Sequence[int]],
    *,
    pad_id: int,
    batch_size: int,
) -> Divergences:
    """Mean per-token divergences of `model` to `teacher` on the given completions.

    Args:
        model: The causal LM being scored.
        teacher: The reference causal LM; same vocabulary as `model`.
        prompt_ids: Token ids of each prompt.
        completion_ids: Token ids of each prompt's completion (scored positions).
        pad_id: Token id used for padding.
        batch_size: Sequences per forward pass.

    Returns:
        The divergences averaged over every completion token.

    Raises:
        ValueError: The two models' vocabularies differ in size.
    """
    import torch

    totals = [0.0, 0.0, 0.0]
    tokens = 0
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(prompt_ids), batch_size):
                prompts = prompt_ids[start : start + batch_size]
                completions = completion_ids[start : start + batch_size]
                seqs = [list(p) + list(c) for p, c in zip(prompts, completions, strict=True)]
                width = max(map(len, seqs))
                # Right padding keeps the default positions 0..n-1 of every real token.
                ids = torch.tensor([s + [pad_id] * (width - len(s)) for s in seqs])
                attn = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
                # Logits at position i predict token i + 1: score each completion token.
                score = torch.zeros(len(seqs), width, dtype=torch.bool)
                for row, (p, c) in enumerate(zip(prompts, completions, strict=True)):
                    score[row, len(p) - 1 : len(p) - 1 + len(c)] = True
                s_logits = model(
                    input_ids=ids.to(_device(model)), attention_mask=attn.to(_device(model))
                ).logits
                t_logits = teacher(
                    input_ids=ids.to(_device(teacher)), attention_mask=attn.to(_device(teacher))
                ).logits
                if s_logits.shape[-1] != t_logits.shape[-1]:
                    raise ValueError(
                        f"the model has {s_logits.shape[-1]} vocabulary entries and the "
                        f"teacher {t_logits.shape[-1]}; they must share a vocabulary"
                    )
                sums = _token_sums(
                    s_logits[score.to(s_logits.device)],
                    t_logits[score.to(t_logits.device)].to(s_logits.device),
                )
                totals = [a + b for a, b in zip(totals, sums, strict=True)]
                tokens += int(score.sum())
    finally:
        model.train(was_training)
    n = max(tokens, 1)
    return Divergences(totals[0] / n, totals[1] / n, totals[2] / n, tokens)
