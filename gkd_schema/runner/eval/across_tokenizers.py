"""The evaluation when the teacher has another tokenizer (`teacher.cross_tokenizer`).

Divergences compare two distributions over one vocabulary, so across tokenizers they are
not defined and the table leaves them out. What is defined: exact match (each model's
greedy answer, decoded with its own tokenizer, against the reference) and agreement
(the answer's text is the teacher's, after stripping whitespace). The teacher reads each
prompt as the student's chat template renders it, tokenised its own way: the same text
it sees in training.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from gkd_schema.runner.eval.metrics import greedy_completions
from gkd_schema.runner.eval.scoring import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_LIMIT,
    TEACHER,
    EvalResult,
    ModelScores,
    prepare_eval_set,
)


def _texts(tokenizer: Any, completions: list[list[int]]) -> list[str]:
    return [t.strip() for t in tokenizer.batch_decode(completions, skip_special_tokens=True)]


def evaluate_across_tokenizers(
    students: Mapping[str, Any],
    teacher: Any,
    tokenizer: Any,
    teacher_tokenizer: Any,
    rows: Iterable[Mapping[str, Any]],
    *,
    split: str = "eval",
    max_new_tokens: int = 128,
    batch_size: int = DEFAULT_BATCH_SIZE,
    limit: int | None = DEFAULT_LIMIT,
) -> EvalResult:
    """Exact match and text agreement of the teacher and each student (no divergences).

    Args:
        students: Row label -> causal LM on `tokenizer`'s ids.
        teacher: The teacher causal LM, on `teacher_tokenizer`'s ids.
        tokenizer: The students' tokenizer (chat template, pad token).
        teacher_tokenizer: The teacher's.
        rows: Conversations with a `messages` column.
        split: Name of the split, for the report.
        max_new_tokens: Longest greedy completion of a student; the teacher gets as many
            more as its tokenizer needs for the same prompt text.
        batch_size: Prompts per generation.
        limit: Use at most this many rows (the first ones); all when None.
    """
    eval_set = prepare_eval_set(tokenizer, rows, limit)
    prompts = tokenizer.batch_decode(eval_set.prompt_ids, skip_special_tokens=False)
    teacher_prompts = [teacher_tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    ratio = sum(map(len, teacher_prompts)) / max(1, sum(map(len, eval_set.prompt_ids)))
    teacher_out = greedy_completions(
        teacher, teacher_tokenizer, teacher_prompts,
        max_new_tokens=max(max_new_tokens, math.ceil(max_new_tokens * ratio)), batch_size=batch_size,
    )
    reference = _texts(teacher_tokenizer, teacher_out)
    n = max(len(reference), 1)

    def row(label: str, answers: list[str]) -> ModelScores:
        exact = None
        if eval_set.references is not None:
            exact = sum(a == r.strip() for a, r in zip(answers, eval_set.references, strict=True)) / n
        agreement = sum(a == t for a, t in zip(answers, reference, strict=True)) / n
        return ModelScores(label, exact, agreement, None, None)

    scores = [row(TEACHER, reference)]
    for label, model in students.items():
        own = greedy_completions(model, tokenizer, eval_set.prompt_ids, max_new_tokens=max_new_tokens,
                                 batch_size=batch_size)
        scores.append(row(label, _texts(tokenizer, own)))
    return EvalResult(split, len(eval_set.prompt_ids), max_new_tokens, tuple(scores))
