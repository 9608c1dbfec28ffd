"""The optional `teacher` section: what of the teacher's distribution the loss sees.

`gkd` keeps naming the teacher (`teacher_model_name_or_path`, as TRL's `GKDConfig`
does); this section says how its distribution reaches the loss: from the teacher loaded
beside the student (`backend: local`), or from a vLLM server that holds it on its own
GPUs and answers with its top-K log-probabilities (`backend: server`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from gkd_schema.models.base import SectionRule, StrictModel
from gkd_schema.models.server_url import (
    connect_timeout_field,
    server_url_field,
    server_url_problems,
    server_url_schema,
)

_URL_NEEDED = "`backend: server` needs `server_url`, the address of the teacher's vLLM server"
_URL_UNUSED = "`server_url` is read only with `backend: server`; set `backend: server` or remove it"

TOP_K_DESCRIPTION = (
    "Distil against the teacher's top K log-probabilities per token instead of its full "
    "vocabulary: the teacher then keeps K values and ids per token, never its full "
    "logits. `null` (default): the full vocabulary. At most the vocabulary size "
    "(`gkd validate --deep` checks it). Needs `gkd.loss_implementation` `chunked` or `fused`. "
    "Required with `backend: server`, where the server's `--max-logprobs` (vLLM's default: 20) caps it."
)


class TeacherSection(StrictModel):
    """How the teacher's distribution reaches the loss."""

    # The schema form of `_server_url_matches_backend`, so editors flag what it rejects.
    model_config = StrictModel.model_config | ConfigDict(
        json_schema_extra={"allOf": [server_url_schema("backend", _URL_NEEDED, _URL_UNUSED)]}
    )

    backend: Literal["local", "server"] = Field(
        default="local",
        description=(
            "`local` (default): the teacher is loaded beside the student and runs its forward "
            "pass in the training process. `server`: it runs behind vLLM's OpenAI-compatible "
            "server on its own devices (`server_url`), which returns its top `top_k` "
            "log-probabilities at every position; it is never loaded here "
            "(docs/running.md shows the command)."
        ),
    )
    server_url: str | None = server_url_field("backend", "the teacher server's address", "http://127.0.0.1:8001")
    connect_timeout_s: float = connect_timeout_field("backend")
    request_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description=(
            "With `backend: server`: seconds to wait for the teacher's log-probs of one batch "
            "(after two retries the run stops; its last checkpoint stays complete)."
        ),
    )
    prefetch: bool = Field(
        default=True,
        description=(
            "With `backend: server`: ask for the teacher's answer for a batch as soon as its "
            "tokens are known (the next step's dataset batches while this step trains; an "
            "on-policy batch while the student runs its forward pass). `false`: ask only when "
            "the loss needs it (for measuring what prefetching saves)."
        ),
    )
    cross_tokenizer: Literal["uld"] | None = Field(
        default=None,
        description=(
            "`null` (default): the teacher must read the student's token ids as the same tokens "
            "(`gkd validate --deep` checks it). `uld`: the teacher has another tokenizer; each batch "
            "is decoded and re-tokenised for it, the two tokenisations are aligned by UTF-8 byte "
            "offsets, and the loss is GOLD's hybrid Universal Logit Distillation: generalized JSD "
            "(with `gkd.beta`) on tokens both vocabularies spell alike, sorted-probability L1 on the "
            "rest (docs/loss.md). Needs fast tokenizers on both sides."
        ),
    )
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

    section_rules = (
        SectionRule(("backend", "server_url"), lambda s: server_url_problems(
            "backend", s.backend, s.server_url, needed=_URL_NEEDED, unused=_URL_UNUSED, prefix="teacher"
        )),
    )
