"""Score students against the teacher on held-out conversations (`gkd eval`, end of `gkd run`).

For each model: exact-match accuracy of its greedy answers against the dataset's
reference answers (when the conversations end with one), greedy agreement with the
teacher, and mean per-token forward KL, reverse KL and JSD to the teacher on the
model's own greedy completions and on the dataset's completions.

At the start and end of `gkd run` the hooks in `run_hooks.py` score the run's student
with these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from gkd_schema.runner.eval.metrics import Divergences, divergences, greedy_completions

DEFAULT_LIMIT = 200
DEFAULT_BATCH_SIZE = 16
TEACHER = "teacher"


@dataclass(frozen=True)
class ModelScores:
    """How one model compares with the teacher.

    Attributes:
        label: `teacher`, `student`, `student (before)`, `student (after)`...
        exact_match: Share of greedy answers equal to the reference (whitespace-stripped);
            None when the data has no reference answers.
        greedy_agreement: Share of prompts whose greedy completion is token for token the
            teacher's (1.0 for the teacher); across tokenizers, whose answer text is.
        own: Divergences on the model's own greedy completions; None across tokenizers,
            where they are not defined.
        dataset: Divergences on the dataset's completions; None without references (and
            across tokenizers).
    """

    label: str
    exact_match: float | None
    greedy_agreement: float
    own: Divergences | None
    dataset: Divergences | None


@dataclass(frozen=True)
class EvalResult:
    """Scores of the teacher and one or more students on the same prompts.

    Attributes:
        split: Which data split the prompts come from.
        prompts: Number of prompts scored.
        max_new_tokens: Longest greedy completion.
        models: The teacher's row first, then each student's.
    """

    split: str
    prompts: int
    max_new_tokens: int
    models: tuple[ModelScores, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (the `--format json` output)."""
        return asdict(self) | {"models": [asdict(m) for m in self.models]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalResult:
        """Rebuild a result written by `to_dict`."""
        models = tuple(
            ModelScores(
                label=m["label"],
                exact_match=m["exact_match"],
                greedy_agreement=m["greedy_agreement"],
                own=Divergences(**m["own"]) if m["own"] is not None else None,
                dataset=Divergences(**m["dataset"]) if m["dataset"] is not None else None,
            )
            for m in data["models"]
        )
        return cls(data["split"], data["prompts"], data["max_new_tokens"], models)

    def with_models(self, *extra: ModelScores) -> EvalResult:
        """This result with more rows appended (e.g. the trained student after the start)."""
        return EvalResult(self.split, self.prompts, self.max_new_tokens, self.models + extra)


@dataclass(frozen=True)
class EvalSet:
    """Tokenized held-out prompts and, when the data has them, reference completions."""

    prompt_ids: list[list[int]]
    references: list[str] | None
    reference_ids: list[list[int]] | None


def prepare_eval_set(tokenizer: Any, rows: Iterable[Mapping[str, Any]], limit: int | None) -> EvalSet:
    """Turn `messages` rows into prompts (and references) the way TRL's collator does.

    A conversation that ends with an assistant turn is a prompt (all earlier turns)
    plus a reference answer; any other conversation is all prompt.

    Args:
        tokenizer: The student's tokenizer, with a chat template.
        rows: Mappings with a `messages` list of `{role, content}`.
        limit: Use at most this many rows (the first ones); all when None.

    Returns:
        The prepared set; `references` is None unless every row has one.
    """
    prompt_ids: list[list[int]] = []
    references: list[str] = []
    reference_ids: list[list[int]] = []
    for i, row in enumerate(rows):
        if limit is not None and i >= limit:
            break
        messages = list(row["messages"])
        has_answer = messages[-1]["role"] == "assistant"
        prompt_messages = messages[:-1] if has_answer else messages
        prompt = tokenizer.apply_chat_template(prompt_messages, add_generation_prompt=True, tokenize=False)
        ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        prompt_ids.append(ids)
        if has_answer:
            full = tokenizer.apply_chat_template(messages, tokenize=False)
            full_ids = tokenizer(full, add_special_tokens=False)["input_ids"]
            references.append(messages[-1]["content"])
            reference_ids.append(full_ids[len(ids) :])
    complete = len(references) == len(prompt_ids)
    return EvalSet(prompt_ids, references if complete else None, reference_ids if complete else None)


def score_model(
    label: str,
    model: Any,
    teacher: Any,
    tokenizer: Any,
    eval_set: EvalSet,
    teacher_completions: Sequence[Sequence[int]],
    *,
    max_new_tokens: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ModelScores:
    """Score one model against the teacher on a prepared set.

    Args:
        label: The row's name in the table.
        model: The causal LM to score (may be the teacher itself).
        teacher: The reference causal LM.
        tokenizer: Shared tokenizer of both models.
        eval_set: Prompts and references from `prepare_eval_set`.
        teacher_completions: The teacher's greedy completions of the same prompts.
        max_new_tokens: Longest greedy completion.
        batch_size: Prompts per generation or forward pass.

    Returns:
        The model's row.
    """
    own = greedy_completions(
        model, tokenizer, eval_set.prompt_ids, max_new_tokens=max_new_tokens, batch_size=batch_size
    )
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    n = max(len(own), 1)
    agreement = sum(list(a) == list(b) for a, b in zip(own, teacher_completions, strict=True)) / n
    exact = None
    on_data = None
    if eval_set.references is not None and eval_set.reference_ids is not None:
        answers = tokenizer.batch_decode(own, skip_special_tokens=True)
        hits = sum(a.strip() == r.strip() for a, r in zip(answers, eval_set.references, strict=True))
        exact = hits / n
        on_data = divergences(
            model, teacher, eval_set.prompt_ids, eval_set.reference_ids, pad_id=pad, batch_size=batch_size
        )
    on_own = divergences(model, teacher, eval_set.prompt_ids, own, pad_id=pad, batch_size=batch_size)
    return ModelScores(label, exact, agreement, on_own, on_data)


def evaluate_models(
    students: Mapping[str, Any],
    teacher: Any,
    tokenizer: Any,
    rows: Iterable[Mapping[str, Any]],
    *,
    split: str = "eval",
    max_new_tokens: int = 128,
    batch_size: int = DEFAULT_BATCH_SIZE,
    limit: int | None = DEFAULT_LIMIT,
) -> EvalResult:
    """Score the teacher and each student on the same held-out prompts.

    Args:
        students: Row label -> causal LM, in table order (e.g. `{"student": model}`).
        teacher: The teacher causal LM; same vocabulary as the students.
        tokenizer: The shared tokenizer (chat template, pad token).
        rows: Conversations with a `messages` column (a `datasets.Dataset` works).
        split: Name of the split, for the report.
        max_new_tokens: Longest greedy completion (use the run's `gkd.max_new_tokens`).
        batch_size: Prompts per generation or forward pass.
        limit: Use at most this many rows (the first ones); all when None.

    Returns:
        The teacher's row, then one row per student.
    """
    eval_set = prepare_eval_set(tokenizer, rows, limit)
    teacher_out = greedy_completions(
        teacher, tokenizer, eval_set.prompt_ids, max_new_tokens=max_new_tokens, batch_size=batch_size
    )
    kwargs: dict[str, Any] = {"max_new_tokens": max_new_tokens, "batch_size": batch_size}
    scores = [score_model(TEACHER, teacher, teacher, tokenizer, eval_set, teacher_out, **kwargs)]
    for label, model in students.items():
        scores.append(score_model(label, model, teacher, tokenizer, eval_set, teacher_out, **kwargs))
    return EvalResult(split, len(eval_set.prompt_ids), max_new_tokens, tuple(scores))
