"""The teacher's own chat template against the student's, on the first training row.

gkd, like TRL, renders every conversation with the student's tokenizer and chat template
and feeds those tokens (or, across tokenizers, that text) to the teacher too: the teacher
never uses its own template, and when only the student has one the teacher reads the
student's. That is right for a teacher and student of one family, and silently costs
quality when the teacher was trained on other markup, so preflight renders the first
training row with each tokenizer's own template and warns, with both renderings, when
they differ.
"""

from __future__ import annotations

from typing import Any

from gkd_schema.config.diagnostics import Diagnostic
from gkd_schema.runner.preflight.vocab import TEACHER_LOC

_SHOWN = 160  # characters of each rendering in the message


def render(tokenizer: Any, messages: list[dict[str, Any]]) -> str | None:
    """`messages` in `tokenizer`'s own chat template, or None when it has none (or it fails)."""
    if not getattr(tokenizer, "chat_template", None):
        return None
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False)
    except Exception:  # a template that cannot render the row is the length checks' to report
        return None
    return str(text)


def compare_templates(
    student_tokenizer: Any, teacher_tokenizer: Any, messages: list[dict[str, Any]], *, teacher_label: str
) -> list[Diagnostic]:
    """A warning when the teacher's own template renders the row otherwise than the student's."""
    theirs = render(teacher_tokenizer, messages)
    ours = render(student_tokenizer, messages)
    if theirs is None or ours is None or theirs == ours:
        return []
    return [
        Diagnostic(
            TEACHER_LOC,
            f"the teacher {teacher_label} has its own chat template, which renders the first training row as "
            f"{theirs[:_SHOWN]!r} where the student's renders {ours[:_SHOWN]!r}; the teacher reads the "
            "student's rendering (gkd, like TRL, never uses the teacher's template), markup it may not have "
            "been trained on. If the student can use the teacher's format, set `model.chat_template` to it",
            "teacher_chat_template_differs",
            severity="warning",
        )
    ]
