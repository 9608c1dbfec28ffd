"""The on-policy decision: the same on every process, at every step, after every resume."""

from __future__ import annotations

import random


def on_policy_decision(seed: int, step: int, micro_step: int, lmbda: float) -> bool:
    """Whether micro-batch `micro_step` of optimizer step `step` is on-policy.

    TRL draws `random.random() <= lmbda` on each process separately; ranks that
    disagree can hang under DeepSpeed ZeRO-3 (one generates, the others do not). This
    is a pure function of its arguments instead (string seeds hash with SHA-512,
    independent of PYTHONHASHSEED), so every process agrees without communicating
    and a resumed run makes the decisions the uninterrupted run would have made.

    Args:
        seed: `training.seed`.
        step: Optimizer steps completed before this micro-batch.
        micro_step: Index of the micro-batch within the step (gradient accumulation).
        lmbda: Probability of an on-policy batch.

    Returns:
        True with probability `lmbda` (never for 0, always for 1).
    """
    draw = random.Random(f"gkd-on-policy:{seed}:{step}:{micro_step}").random()
    return draw < lmbda
