"""`teacher.cross_tokenizer: uld`: both tokenizers give byte offsets, and they really differ.

The ULD path decodes the student's tokens and re-tokenises the text for the teacher, then
aligns the two by UTF-8 byte offsets, which needs fast (Rust `tokenizers`) tokenizers on
both sides. A pair that turns out to be the same tokenizer trains correctly, only slower
than the shared-vocabulary loss, so that is a warning.
"""

from __future__ import annotations

from typing import Any

from gkd_schema.config.diagnostics import Diagnostic, Loc
from gkd_schema.runner.preflight.same_tokenizer import TeacherTokenizer, differing_ids

CROSS_LOC: Loc = ("teacher", "cross_tokenizer")


def check_cross_tokenizer(
    student_tokenizer: Any,
    teacher: TeacherTokenizer,
    *,
    student_label: str,
    teacher_label: str,
) -> list[Diagnostic]:
    """Errors for a tokenizer pair ULD cannot align; a warning when it needs no alignment."""
    teacher_tokenizer = teacher.tokenizer
    if teacher_tokenizer is None:
        return [
            Diagnostic(
                CROSS_LOC,
                f"`cross_tokenizer: uld` re-tokenises every batch for the teacher {teacher_label}, and {teacher.why}; "
                "save the teacher's tokenizer beside it (`tokenizer.save_pretrained`)",
                "cross_tokenizer_teacher_tokenizer_missing",
            )
        ]
    slow = [label for label, tok in ((student_label, student_tokenizer), (teacher_label, teacher_tokenizer))
            if not getattr(tok, "is_fast", False)]
    if slow:
        return [
            Diagnostic(
                CROSS_LOC,
                f"`cross_tokenizer: uld` aligns the two tokenisations by byte offsets, which only fast "
                f"tokenizers (a `tokenizer.json`) give, and {' and '.join(slow)} has a slow one; convert it "
                "(`AutoTokenizer.from_pretrained(..., use_fast=True).save_pretrained(...)`)",
                "cross_tokenizer_needs_fast_tokenizer",
            )
        ]
    same = not differing_ids(student_tokenizer, teacher_tokenizer) and (
        student_tokenizer.eos_token == teacher_tokenizer.eos_token
    )
    if same:
        return [
            Diagnostic(
                CROSS_LOC,
                f"the teacher {teacher_label} reads the student's token ids as the same tokens, so "
                "`cross_tokenizer: uld` only makes the loss slower; remove it to use the shared-vocabulary loss",
                "cross_tokenizer_same_tokenizer",
                severity="warning",
            )
        ]
    return []
