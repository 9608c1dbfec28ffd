"""A teacher with another tokenizer: the batch's text re-tokenised for it, and both sides' byte offsets.

For each row the student's prompt and completion are decoded to text; the teacher's
tokenizer encodes the prompt text and the completion text separately (so the completion
starts on a token boundary for both), and each side's completion tokens get UTF-8 byte
spans relative to the start of the completion. ULD aligns the two by those spans.

The spans of a token list come from decoding its prefixes: the end of token i is the
byte length of the decoded first i + 1 tokens. That holds for any tokenizer whose
decoding of a prefix is a prefix of its decoding (true of the byte-level, SentencePiece
and word-level tokenizers gkd has met); a multi-byte character split across tokens gets
its boundary where the decoder puts it. The end-of-sequence token, when the completion
has one, is zero-width at the end on both sides: the student's end token is replaced by
the teacher's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

IGNORE_INDEX = -100


@dataclass(frozen=True)
class Retokenized:
    """The teacher's view of a student batch, and the student's completion byte spans.

    All tensors are `[batch, seq]` (spans `[batch, seq, 2]`) and right-padded; spans are
    `(0, 0)` outside the completion.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    byte_offsets: torch.Tensor
    student_byte_offsets: torch.Tensor


def byte_spans(tokenizer: Any, ids: list[int]) -> list[tuple[int, int]]:
    """UTF-8 `(start, end)` of each token of `ids` within their decoded text."""
    spans: list[tuple[int, int]] = []
    end = 0
    for i in range(len(ids)):
        text = tokenizer.decode(ids[: i + 1], skip_special_tokens=False, clean_up_tokenization_spaces=False)
        new_end = max(end, len(text.encode("utf-8")))
        spans.append((end, new_end))
        end = new_end
    return spans


def _row(
    ids: list[int], mask: list[int], labels: list[int], student: Any, teacher: Any
) -> tuple[list[int], int, list[tuple[int, int]], list[tuple[int, int]], list[int]]:
    """One row: teacher ids, their prompt length and spans; the student's completion spans and positions."""
    completion_positions = [p for p, label in enumerate(labels) if label != IGNORE_INDEX]
    first = completion_positions[0] if completion_positions else len(ids)
    prompt = [t for p, t in enumerate(ids[:first]) if mask[p]]
    completion = [ids[p] for p in completion_positions]
    has_eos = bool(completion) and completion[-1] == student.eos_token_id
    content = completion[:-1] if has_eos else completion
    decode = {"skip_special_tokens": False, "clean_up_tokenization_spaces": False}
    text = student.decode(content, **decode)
    student_spans = byte_spans(student, content)
    teacher_prompt = teacher(student.decode(prompt, **decode), add_special_tokens=False)["input_ids"]
    teacher_content = teacher(text, add_special_tokens=False)["input_ids"]
    teacher_spans = byte_spans(teacher, teacher_content)
    end = len(text.encode("utf-8"))
    if has_eos:
        student_spans.append((end, end))
        if teacher.eos_token_id is not None:
            teacher_content = [*teacher_content, teacher.eos_token_id]
            teacher_spans.append((end, end))
    return teacher_prompt + teacher_content, len(teacher_prompt), teacher_spans, student_spans, completion_positions


def retokenize(
    input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor, student: Any, teacher: Any
) -> Retokenized:
    """The teacher's tokens for a student batch (`labels` mark the completion), and both sides' spans.

    Args:
        input_ids: `[batch, seq]` student ids.
        attention_mask: `[batch, seq]`, 1 on real tokens.
        labels: `[batch, seq]`, -100 outside the completion (one contiguous run per row).
        student: The student's tokenizer.
        teacher: The teacher's tokenizer.
    """
    rows = [
        _row(i, m, lab, student, teacher)
        for i, m, lab in zip(input_ids.tolist(), attention_mask.tolist(), labels.tolist(), strict=True)
    ]
    width = max((len(r[0]) for r in rows), default=0) or 1
    pad = teacher.pad_token_id if teacher.pad_token_id is not None else 0
    batch = len(rows)
    t_ids = torch.full((batch, width), pad, dtype=torch.long)
    t_mask = torch.zeros(batch, width, dtype=torch.long)
    t_labels = torch.full((batch, width), IGNORE_INDEX, dtype=torch.long)
    t_spans = torch.zeros(batch, width, 2, dtype=torch.long)
    s_spans = torch.zeros(*input_ids.shape, 2, dtype=torch.long)
    for b, (ids, prompt_len, spans, student_spans, positions) in enumerate(rows):
        n = len(ids)
        t_ids[b, :n] = torch.tensor(ids, dtype=torch.long)
        t_mask[b, :n] = 1
        t_labels[b, prompt_len:n] = t_ids[b, prompt_len:n]
        if spans:
            t_spans[b, prompt_len:n] = torch.tensor(spans, dtype=torch.long)
        if student_spans:
            s_spans[b, positions[: len(student_spans)]] = torch.tensor(student_spans, dtype=torch.long)
    device = input_ids.device
    return Retokenized(t_ids.to(device), t_mask.to(device), t_labels.to(device), t_spans.to(device),
                       s_spans.to(device))
