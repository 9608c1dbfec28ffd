"""The teacher must read the student's token ids as the same tokens.

TRL feeds the teacher the student's token ids and compares the two distributions id by
id. A teacher whose vocabulary has the student's size but other ids (a permutation,
another tokenizer padded to the same size) trains without any error and distils
nonsense, so a difference is an error before any weights load.

Both tokenizers are loaded with transformers (`tokenizer.json`, `tokenizer.model` or
`vocab.json`/`merges.txt` alike) and compared with `get_vocab()`; a teacher whose
tokenizer cannot be loaded is reported as not compared, never skipped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gkd_schema.config.diagnostics import Diagnostic
from gkd_schema.runner.preflight.guard import exception_text
from gkd_schema.runner.preflight.locate import TOKENIZER_FILES
from gkd_schema.runner.preflight.vocab import TEACHER_LOC

_SHOWN = 3  # differing ids named in the message; the rest are counted
# What to do about a teacher with another tokenizer.
CROSS_TOKENIZER_FIX = (
    "choose a teacher that shares the student's tokenizer (the same model family and "
    "vocabulary), or distil across tokenizers with `teacher.cross_tokenizer: uld` "
    "(docs/loss.md)"
)


@dataclass(frozen=True)
class TeacherTokenizer:
    """The teacher's tokenizer, loaded once per preflight for every check that compares it."""

    tokenizer: Any | None
    why: str | None = None  # why `tokenizer` is None, for a message


def load_teacher_tokenizer(directory: Path, trust_remote_code: bool) -> TeacherTokenizer:
    """The tokenizer in the teacher's folder, or None and why it could not be loaded."""
    if not any((directory / name).is_file() for name in TOKENIZER_FILES):
        return TeacherTokenizer(None, f"its folder holds no tokenizer files ({', '.join(TOKENIZER_FILES)})")
    from transformers import AutoTokenizer

    try:
        return TeacherTokenizer(AutoTokenizer.from_pretrained(str(directory), trust_remote_code=trust_remote_code))
    except Exception as exc:  # transformers raises many kinds here; all mean "not comparable"
        return TeacherTokenizer(None, f"its tokenizer does not load ({exception_text(exc)})")


def _by_id(tokenizer: Any) -> dict[int, str]:
    return {int(i): str(tok) for tok, i in tokenizer.get_vocab().items()}


def differing_ids(student: Any, teacher: Any) -> list[int]:
    """The student's ids that the teacher's tokenizer maps to another token (or lacks)."""
    ours, theirs = _by_id(student), _by_id(teacher)
    # Ids the teacher has beyond the student's are never fed to it: only ours count.
    return sorted(i for i, tok in ours.items() if theirs.get(i) != tok)


def _id_mismatch(student: Any, teacher: Any, labels: tuple[str, str]) -> list[Diagnostic]:
    ours, theirs = _by_id(student), _by_id(teacher)
    differing = differing_ids(student, teacher)
    if not differing:
        return []
    shown = "; ".join(
        f"id {i} is {ours[i]!r} for the student and "
        + (f"{theirs[i]!r} for the teacher" if i in theirs else "missing for the teacher")
        for i in differing[:_SHOWN]
    )
    more = f" and {len(differing) - _SHOWN} more" if len(differing) > _SHOWN else ""
    return [
        Diagnostic(
            loc=TEACHER_LOC,
            message=(
                f"the teacher {labels[1]} and the student's tokenizer {labels[0]} map token ids "
                f"to different tokens: {len(differing)} of the student's {len(ours)} ids differ "
                f"({shown}{more}). The teacher reads the student's token ids, so every "
                f"distribution would be compared with the wrong token; {CROSS_TOKENIZER_FIX}"
            ),
            type="tokenizer_mismatch",
        )
    ]


def _special_mismatch(student: Any, teacher: Any, labels: tuple[str, str]) -> list[Diagnostic]:
    out = []
    for name in ("eos", "pad", "bos"):
        ours, theirs = getattr(student, f"{name}_token", None), getattr(teacher, f"{name}_token", None)
        if ours is None or theirs is None or ours == theirs:
            continue
        if name == "eos":
            # On-policy completions stop at the student's end token while the teacher
            # puts its mass on its own: the student learns to end answers it never ends.
            effect = (
                "the student stops generating at its end token while the teacher ends its "
                "answers with another, so the student is taught to end turns it never ends; "
                "choose a teacher and student that end a turn with the same token (e.g. the "
                "instruct models of one family)"
            )
        else:
            effect = (
                "positions of this token are masked or rare, so the run proceeds; check that "
                "the two tokenizers come from the same release"
            )
        out.append(
            Diagnostic(
                loc=TEACHER_LOC,
                message=(
                    f"the {name} token is {ours!r} for the student's tokenizer {labels[0]} and "
                    f"{theirs!r} for the teacher {labels[1]}: {effect}"
                ),
                type="special_token_mismatch",
                severity="error" if name == "eos" else "warning",
            )
        )
    return out


def check_same_tokenizer(
    student_tokenizer: Any,
    teacher: TeacherTokenizer,
    *,
    student_label: str,
    teacher_label: str,
) -> list[Diagnostic]:
    """Compare the student's tokenizer with the teacher's, id by id and special token by token.

    Args:
        student_tokenizer: The loaded tokenizer whose ids the teacher will read.
        teacher: The teacher's tokenizer (`load_teacher_tokenizer`).
        student_label: How messages name the student's tokenizer.
        teacher_label: How messages name the teacher.

    Returns:
        An error for ids that map to other tokens or another end-of-sequence token;
        warnings for another pad or bos token, and for a teacher tokenizer that could
        not be compared.
    """
    teacher_tokenizer = teacher.tokenizer
    if teacher_tokenizer is None:
        return [
            Diagnostic(
                loc=TEACHER_LOC,
                message=(
                    f"the teacher {teacher_label} was not compared with the student's tokenizer: "
                    f"{teacher.why}. gkd cannot tell whether it reads the student's token ids as the "
                    "same tokens; save the teacher's tokenizer beside it "
                    "(`tokenizer.save_pretrained`) to have it checked"
                ),
                type="tokenizer_not_compared",
                severity="warning",
            )
        ]
    labels = (student_label, teacher_label)
    return _id_mismatch(student_tokenizer, teacher_tokenizer, labels) + _special_mismatch(
        student_tokenizer, teacher_tokenizer, labels
    )
