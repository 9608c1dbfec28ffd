"""`training.max_length` against the positions each model was built for.

A sequence longer than `max_position_embeddings` indexes past a learned position table
(an error mid-run, at the first long batch) or runs rotary embeddings beyond what the
model was trained on; both models see every token, so both limits count.
"""

from __future__ import annotations

from typing import Any

from gkd_schema.config.diagnostics import Diagnostic
from gkd_schema.runner.preflight.weights import text_config


def max_positions(config: dict[str, Any]) -> int | None:
    """`max_position_embeddings` of a model's (text) config.json, if it says."""
    value = text_config(config).get("max_position_embeddings")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def check_max_length(max_length: int, models: list[tuple[str, str, dict[str, Any]]]) -> list[Diagnostic]:
    """An error when `max_length` exceeds a model's `max_position_embeddings`.

    Args:
        max_length: `training.max_length`.
        models: `(role, label, config.json)` of the student and the teacher.
    """
    limits = [(role, label, limit) for role, label, config in models if (limit := max_positions(config))]
    over = [(role, label, limit) for role, label, limit in limits if max_length > limit]
    if not over:
        return []
    lowest = min(limit for _, _, limit in limits)
    named = " and ".join(f"the {role} {label} has {limit}" for role, label, limit in over)
    return [
        Diagnostic(
            ("training", "max_length"),
            f"{max_length} tokens is more than the models' positions ({named} in "
            f"`max_position_embeddings`); lower `training.max_length` to {lowest} or less",
            "max_length_exceeds_positions",
        )
    ]
