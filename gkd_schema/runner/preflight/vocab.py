"""Student and teacher must share one vocabulary size (`same_tokenizer.py` checks the ids).

TRL's GKD trainer compares `config.vocab_size` only after loading both models, which
for large teachers means minutes and many gigabytes before the error. With
`teacher.cross_tokenizer: uld` the vocabularies may differ (`cross_tokenizer_check.py`).
"""

from __future__ import annotations

from gkd_schema.config.diagnostics import Diagnostic

TEACHER_LOC = ("gkd", "teacher_model_name_or_path")


def check_vocab_sizes(
    student_vocab: int | None,
    teacher_vocab: int | None,
    *,
    student_label: str,
    teacher_label: str,
) -> list[Diagnostic]:
    """An error when the two `vocab_size`s differ, a warning when one is unknown."""
    if student_vocab is None or teacher_vocab is None:
        which = student_label if student_vocab is None else teacher_label
        return [
            Diagnostic(
                loc=TEACHER_LOC,
                message=(
                    f"config.json of {which} has no `vocab_size` (nor `text_config.vocab_size`), "
                    "so the student/teacher vocabulary check was skipped"
                ),
                type="vocab_unknown",
                severity="warning",
            )
        ]
    if student_vocab == teacher_vocab:
        return []
    return [
        Diagnostic(
            loc=TEACHER_LOC,
            message=(
                f"the teacher {teacher_label} has vocab_size {teacher_vocab} but the student "
                f"{student_label} has {student_vocab} (config.json of each); GKD compares "
                "full next-token distributions, so both need the same vocabulary and TRL "
                "stops after loading both. Sizes differ even within a family: Qwen2.5 "
                "0.5B/1.5B/3B have 151936, 7B and larger 152064. Choose a teacher with "
                f"vocab_size {student_vocab}, or distil across tokenizers with "
                "`teacher.cross_tokenizer: uld` (docs/loss.md)"
            ),
            type="vocab_mismatch",
        )
    ]


def check_top_k(top_k: int | None, teacher_vocab: int | None, *, teacher_label: str) -> list[Diagnostic]:
    """An error when `teacher.top_k` asks for more entries than the teacher's vocabulary has."""
    if top_k is None or teacher_vocab is None or top_k <= teacher_vocab:
        return []
    return [
        Diagnostic(
            loc=("teacher", "top_k"),
            message=(
                f"`teacher.top_k: {top_k}` exceeds the vocabulary of the teacher {teacher_label} "
                f"({teacher_vocab} tokens, config.json); use at most {teacher_vocab}, or `null` "
                "for the full vocabulary"
            ),
            type="top_k_exceeds_vocab",
        )
    ]
