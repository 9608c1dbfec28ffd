"""Student and teacher must share one vocabulary: same size, same token ids.

TRL's GKD trainer compares `config.vocab_size` only after loading both models, which
for large teachers means minutes and many gigabytes before the error. Cross-tokenizer
distillation (different vocabularies) is out of scope here; TRL's GOLD trainer does it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gkd_schema.config.diagnostics import Diagnostic

TEACHER_LOC = ("gkd", "teacher_model_name_or_path")
_MAX_TOKENIZER_JSON = 64 * 1024 * 1024  # larger files are not worth parsing for a warning


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
                f"vocab_size {student_vocab}; distilling across tokenizers is out of scope "
                "for gkd (TRL's GOLD trainer does it)"
            ),
            type="vocab_mismatch",
        )
    ]


def _token_ids(model_dir: Path) -> dict[str, int] | None:
    """Token -> id of a fast tokenizer's tokenizer.json (added tokens included)."""
    path = model_dir / "tokenizer.json"
    try:
        if not path.is_file() or path.stat().st_size > _MAX_TOKENIZER_JSON:
            return None
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    vocab = data.get("model", {}).get("vocab") if isinstance(data, dict) else None
    if isinstance(vocab, list):  # Unigram models: [[piece, score], ...] by id
        ids = {str(entry[0]): i for i, entry in enumerate(vocab) if entry}
    elif isinstance(vocab, dict):
        ids = {str(tok): int(i) for tok, i in vocab.items()}
    else:
        return None
    for added in data.get("added_tokens", []):
        if isinstance(added, dict) and "content" in added and "id" in added:
            ids[str(added["content"])] = int(added["id"])
    return ids


def check_same_tokens(
    student_dir: Path, teacher_dir: Path, *, student_label: str, teacher_label: str
) -> list[Diagnostic]:
    """A warning when the teacher's tokenizer.json maps tokens to other ids.

    TRL feeds the teacher the student's token ids; equal `vocab_size`s with different
    vocabularies would distill nonsense without any error. Skipped when either folder
    has no tokenizer.json.
    """
    student, teacher = _token_ids(student_dir), _token_ids(teacher_dir)
    if student is None or teacher is None or student == teacher:
        return []
    differing = sorted(
        (student[tok], tok) for tok in student.keys() & teacher.keys() if student[tok] != teacher[tok]
    )
    only_student = len(student.keys() - teacher.keys())
    if not differing and only_student == 0:
        return []  # the teacher only adds tokens past the student's ids
    example = (
        f"e.g. {differing[0][1]!r} is id {differing[0][0]} for the student and "
        f"{teacher[differing[0][1]]} for the teacher; "
        if differing
        else ""
    )
    return [
        Diagnostic(
            loc=TEACHER_LOC,
            message=(
                f"the teacher {teacher_label} tokenizes differently from the student "
                f"{student_label} ({len(differing)} tokens with other ids, {only_student} "
                f"student tokens it lacks; {example}tokenizer.json of each). The teacher "
                "reads the student's token ids, so its distributions would be over the "
                "wrong tokens; choose a teacher from the student's model family"
            ),
            type="tokenizer_mismatch",
            severity="warning",
        )
    ]
