"""The generalized JSD against a teacher's top K: the teacher never holds full logits.

The student side is the chunked loss's (full logits, a chunk of rows at a time) or the
fused loss's (hidden states projected a chunk at a time); the divergence of each chunk
is `jsd_topk_rows`'. Normalisation is TRL's, as for the full losses (`jsd_plan`).
"""

from __future__ import annotations

import torch

from gkd_schema.runner.loss.jsd_chunked import chunked_loss
from gkd_schema.runner.loss.jsd_fused import fused_loss
from gkd_schema.runner.loss.jsd_plan import RowPlan, check_loss_arguments, default_chunk_bytes, plan_rows
from gkd_schema.runner.loss.jsd_topk_rows import TopKTeacherRows
from gkd_schema.runner.loss.topk_teacher import TeacherTopK

# A row-wise `mean` would divide by vocabulary x rows, which has no meaning on a K-bucket support.
_TOPK_REDUCTIONS = ("batchmean", "sum")


def _plan(
    leading_shape: torch.Size,
    vocab_size: int,
    teacher: TeacherTopK,
    labels: torch.Tensor | None,
    device: torch.device,
    *,
    beta: float,
    temperature: float,
    reduction: str,
    num_items_in_batch: int | float | torch.Tensor | None,
    chunk_bytes: int,
) -> RowPlan:
    check_loss_arguments(beta, temperature, reduction)
    if reduction not in _TOPK_REDUCTIONS:
        raise ValueError(f"a top-K loss supports the reductions {', '.join(_TOPK_REDUCTIONS)}, not {reduction!r}")
    teacher.check(leading_shape, vocab_size)
    return plan_rows(
        leading_shape,
        vocab_size,
        labels,
        device,
        reduction=reduction,
        num_items_in_batch=num_items_in_batch,
        chunk_bytes=chunk_bytes,
    )


def topk_generalized_jsd_loss(
    student_logits: torch.Tensor,
    teacher: TeacherTopK,
    labels: torch.Tensor | None = None,
    *,
    tail: bool = True,
    beta: float = 0.5,
    temperature: float = 1.0,
    reduction: str = "batchmean",
    num_items_in_batch: int | float | torch.Tensor | None = None,
    chunk_bytes: int | None = None,
) -> torch.Tensor:
    """Generalized JSD of the student's logits against the teacher's top K, chunk by chunk.

    Args:
        student_logits: `[..., vocab]` student logits.
        teacher: The teacher's top K over the same leading shape.
        labels: Labels of the leading shape; rows labelled -100 are ignored.
        tail: Add the rest-of-the-vocabulary bucket on both sides; else renormalise over K.
        beta: Interpolation in [0, 1] (0 forward KL, 1 reverse KL).
        temperature: The student's logits are divided by it (the teacher's top K were
            taken at the temperature they were computed with).
        reduction: `batchmean` (per unmasked row) or `sum`.
        num_items_in_batch: When given, the loss is the sum divided by it.
        chunk_bytes: Size of one float32 `[rows, vocab]` workspace buffer (three are used).

    Returns:
        The scalar loss, in the logits' dtype.

    Raises:
        ValueError: Mismatched shapes, ids outside the vocabulary, or an argument out of range.
    """
    plan = _plan(
        student_logits.shape[:-1],
        student_logits.shape[-1],
        teacher,
        labels,
        student_logits.device,
        beta=beta,
        temperature=temperature,
        reduction=reduction,
        num_items_in_batch=num_items_in_batch,
        chunk_bytes=chunk_bytes or default_chunk_bytes(student_logits.device, fused=False),
    )
    rows = TopKTeacherRows(teacher, tail=tail, beta=beta, temperature=temperature)
    return chunked_loss(student_logits, plan, rows)


def fused_linear_topk_jsd_loss(
    student_hidden: torch.Tensor,
    student_weight: torch.Tensor,
    teacher: TeacherTopK,
    labels: torch.Tensor | None = None,
    *,
    student_bias: torch.Tensor | None = None,
    tail: bool = True,
    beta: float = 0.5,
    temperature: float = 1.0,
    reduction: str = "batchmean",
    num_items_in_batch: int | float | torch.Tensor | None = None,
    chunk_bytes: int | None = None,
) -> torch.Tensor:
    """`topk_generalized_jsd_loss` of `F.linear(student_hidden, student_weight, student_bias)`.

    The student's `[tokens, vocab]` logits are never built: each chunk is projected,
    scored and projected back into gradients for the hidden states, weight and bias, as
    in `fused_linear_generalized_jsd_loss`.

    Args:
        student_hidden: `[..., hidden]` final hidden states of the student.
        student_weight: `[vocab, hidden]` its output projection.
        teacher: The teacher's top K over the hidden states' leading shape.
        labels: Labels of the leading shape; rows labelled -100 are ignored.
        student_bias: Optional `[vocab]` bias.
        tail: Add the rest-of-the-vocabulary bucket on both sides; else renormalise over K.
        beta: Interpolation in [0, 1].
        temperature: The student's logits are divided by it.
        reduction: `batchmean` or `sum`.
        num_items_in_batch: When given, the loss is the sum divided by it.
        chunk_bytes: Size of one float32 `[rows, vocab]` workspace buffer (three are used).

    Returns:
        The scalar loss, in the hidden states' dtype.

    Raises:
        ValueError: Mismatched shapes, ids outside the vocabulary, or an argument out of range.
    """
    if student_weight.dim() != 2 or student_weight.shape[1] != student_hidden.shape[-1]:
        raise ValueError(
            f"student weight {tuple(student_weight.shape)} does not project hidden states of size "
            f"{student_hidden.shape[-1]}"
        )
    plan = _plan(
        student_hidden.shape[:-1],
        student_weight.shape[0],
        teacher,
        labels,
        student_hidden.device,
        beta=beta,
        temperature=temperature,
        reduction=reduction,
        num_items_in_batch=num_items_in_batch,
        chunk_bytes=chunk_bytes or default_chunk_bytes(student_hidden.device, fused=True),
    )
    rows = TopKTeacherRows(teacher, tail=tail, beta=beta, temperature=temperature)
    return fused_loss(student_hidden, student_weight, student_bias, plan, rows)
