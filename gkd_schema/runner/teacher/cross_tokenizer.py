"""A teacher with another tokenizer: the batch's text re-tokenised for it, and both sides' byte offsets.

For each row the student's prompt and completion are decoded to text; the teacher's
tokenizer encodes the prompt text and the completion text separately (so the completion
starts on a token boundary for both), and each side's completion tokens get UTF-8 byte
spans relative to the start of the completion. ULD aligns the two by those spans.

The spans of a token list come from decoding its prefixes: the end of token i is the
byte length of the decoded first i + 1 tokens. That holds for any tokenizer whose
decoding of a prefix is a prefix of its decoding (true of the byte-level, SentencePiece
and word-level tokenizers gkd has met). A token that ends inside a multi-byte character
decodes to a replacement character; it gets no bytes of its own, and the token that
completes the character gets the whole character, so every span ends on a character
boundary (where both tokenisations can meet).

The student's end-of-sequence token, wherever it is in the completion (a chat template
may put text after it, e.g. `<|im_end|>` then a newline), becomes the teacher's, zero-width
at its byte position on both sides; the text after it is re-tokenised like the rest.
The teacher's prompt gets its tokenizer's special tokens (a BOS, say), as TRL's GOLD
trainer gives them, without a trailing end token.
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


_DECODE = {"skip_special_tokens": False, "clean_up_tokenization_spaces": False}


def byte_spans(tokenizer: Any, ids: list[int], start: int = 0) -> list[tuple[int, int]]:
    """UTF-8 `(start, end)` of each token of `ids` within their decoded text, offset by `start`."""
    spans: list[tuple[int, int]] = []
    end = 0
    for i in range(len(ids)):
        # A prefix that ends inside a character decodes to U+FFFD: count none of its bytes yet.
        text = tokenizer.decode(ids[: i + 1], **_DECODE).rstrip("\ufffd")
        new_end = max(end, len(text.encode("utf-8")))
        spans.append((start + end, start + new_end))
        end = new_end
    return spans


def _side(
    tokenizer: Any, ids: list[int], after: list[int], eos: int | None
) -> tuple[list[int], list[tuple[int, int]]]:
    """One side's completion: content ids, its end token, the ids after it, with their byte spans."""
    spans = byte_spans(tokenizer, ids)
    end = len(tokenizer.decode(ids, **_DECODE).encode("utf-8"))
    stop, stop_span = ([eos], [(end, end)]) if eos is not None else ([], [])
    return [*ids, *stop, *after], [*spans, *stop_span, *byte_spans(tokenizer, after, end)]


def _row(
    ids: list[int], mask: list[int], labels: list[int], student: Any, teacher: Any
) -> tuple[list[int], int, list[tuple[int, int]], list[tuple[int, int]], list[int]]:
    """One row: teacher ids, their prompt length and spans; the student's completion spans and positions."""
    completion_positions = [p for p, label in enumerate(labels) if label != IGNORE_INDEX]
    first = completion_positions[0] if completion_positions else len(ids)
    prompt = [t for p, t in enumerate(ids[:first]) if mask[p]]
    completion = [ids[p] for p in completion_positions]
    stops = [i for i, t in enumerate(completion) if t == student.eos_token_id]
    cut = stops[-1] if stops else len(completion)
    content, after = completion[:cut], completion[cut + 1 :]
    student_eos = student.eos_token_id if stops else None
    _, student_spans = _side(student, content, after, student_eos)
    text, tail = student.decode(content, **_DECODE), student.decode(after, **_DECODE)
    teacher_prompt = teacher(student.decode(prompt, **_DECODE), add_special_tokens=True)["input_ids"]
    if teacher_prompt and teacher.eos_token_id is not None and teacher_prompt[-1] == teacher.eos_token_id:
        teacher_prompt = teacher_prompt[:-1]
    teacher_content = teacher(text, add_special_tokens=False)["input_ids"]
    teacher_after = teacher(tail, add_special_tokens=False)["input_ids"] if tail else []
    teacher_eos = teacher.eos_token_id if stops else None
    teacher_ids, teacher_spans = _side(teacher, teacher_content, teacher_after, teacher_eos)
    return teacher_prompt + teacher_ids, len(teacher_prompt), teacher_spans, student_spans, completion_positions


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
