"""The optional `teacher` section: what of the teacher's distribution the loss sees.

`gkd` keeps naming the teacher (`teacher_model_name_or_path`, as TRL's `GKDConfig`
does); this section says how its distribution reaches the loss. Later backends (a
teacher server, a cross-tokenizer teacher) add their keys here.
"""

from __future__ import annotations

from pydantic import Field

from gkd_schema.models.base import StrictModel

TOP_K_DESCRIPTION = (
    "Distil against the teacher's top K log-probabilities per token instead of its full "
    "vocabulary: the teacher then keeps K values and ids per token, never its full "
    "logits. `null` (default): the full vocabulary. At most the vocabulary size "
    "(`gkd validate --deep` checks it). Needs `gkd.loss_implementation` `chunked` or `fused`."
)


class TeacherSection(StrictModel):
    """How the teacher's distribution reaches the loss."""

    top_k: int | None = Field(default=None, ge=1, description=TOP_K_DESCRIPTION)
    top_k_tail: bool = Field(
        default=True,
        description=(
            "With `top_k`: add a (K+1)-th bucket holding the rest of the probability mass, "
            "on the teacher's side and the student's, so that mass outside the top K still "
            "counts. `false`: renormalise both over the K (the loss then ignores how much "
            "mass the student puts elsewhere)."
        ),
    )
