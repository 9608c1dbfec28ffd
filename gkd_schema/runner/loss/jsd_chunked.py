"""TRL's generalized JSD loss on full logits, computed a chunk of token rows at a time.

TRL's `generalized_jsd_loss` keeps several `[tokens, vocab]` intermediates alive for
backward (log-softmaxes, a stacked mixture, two KL tensors): about 15x the logits at beta
0.5. Here a custom autograd function computes the loss and its gradient together, one
chunk of rows at a time, so that the only full-size tensor it creates is the gradient
that backward has to return anyway.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch

from gkd_schema.runner.loss.jsd_plan import (
    RowPlan,
    check_loss_arguments,
    default_chunk_bytes,
    plan_rows,
    reject_teacher_grad,
    release_scaled_grads,
)
from gkd_schema.runner.loss.jsd_rows import FullTeacher, RowLoss, Workspace


class _ChunkedJSD(torch.autograd.Function):
    """Loss and student gradient in one pass over chunks; backward only rescales."""

    @staticmethod
    def forward(
        ctx: Any,
        student_logits: torch.Tensor,
        plan: RowPlan,
        row_loss: RowLoss,
    ) -> torch.Tensor:
        want_grad = bool(ctx.needs_input_grad[0])
        vocab_size = student_logits.shape[-1]
        grad = (
            torch.zeros(student_logits.shape, dtype=student_logits.dtype, device=student_logits.device)
            if want_grad
            else None
        )
        grad_scale = plan.grad_scale() if want_grad else None
        ws = Workspace(
            plan.chunk_rows,
            vocab_size,
            student_logits.dtype,
            student_logits.device,
            teacher=row_loss.needs_teacher_buffer,
        )
        total = torch.zeros((), dtype=ws.dtype, device=student_logits.device)
        for rows in plan.chunks():
            ws.load(ws.student, partial(plan.gather, student_logits, rows), rows.numel(), student_logits.dtype)
            loss, chunk_grad = row_loss(ws, rows, grad_scale)
            total += loss.sum()
            if grad is not None and chunk_grad is not None:
                grad.view(-1, vocab_size).index_copy_(0, rows, ws.in_io_dtype(chunk_grad))
        ctx.grads = (grad,)
        return (total / plan.divisor).to(student_logits.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (grad,) = release_scaled_grads(ctx, grad_output, "chunked")
        return grad, None, None


def chunked_loss(student_logits: torch.Tensor, plan: RowPlan, row_loss: RowLoss) -> torch.Tensor:
    """The loss of `row_loss` over the rows of `plan`, from full student logits.

    Args:
        student_logits: `[..., vocab]` student logits.
        plan: The rows to visit and the normalisation.
        row_loss: The teacher side and the divergence of a chunk.

    Returns:
        The scalar loss, in the logits' dtype.
    """
    loss: torch.Tensor = _ChunkedJSD.apply(student_logits, plan, row_loss)  # type: ignore[no-untyped-call]
    return loss


def chunked_generalized_jsd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    beta: float = 0.5,
    temperature: float = 1.0,
    reduction: str = "batchmean",
    num_items_in_batch: int | float | torch.Tensor | None = None,
    chunk_bytes: int | None = None,
) -> torch.Tensor:
    """TRL's `GKDTrainer.generalized_jsd_loss`, with a bounded memory overhead.

    Same arguments, defaults and result as TRL 1.16 (beta 0 forward KL, 1 reverse KL,
    labels of -100 masked, `num_items_in_batch` winning over `reduction`, logits divided
    by `temperature`). Each chunk is computed in float32 (float64 for float64 logits); the
    result has the logits' dtype, as TRL's does. The teacher gets no gradient.

    Args:
        student_logits: `[..., vocab]` student logits (any leading shape; views are fine).
        teacher_logits: Teacher logits of the same shape, not requiring grad.
        labels: Labels of the leading shape; rows labelled -100 are ignored.
        beta: Interpolation in [0, 1].
        temperature: Logits are divided by it before the softmaxes.
        reduction: `batchmean` (per unmasked row), `sum` or `mean` (per element).
        num_items_in_batch: When given, the loss is the sum divided by it (the global
            token count under gradient accumulation).
        chunk_bytes: Size of one float32 `[rows, vocab]` workspace buffer; the loss
            allocates four (five for other dtypes) and reuses them for every chunk.
            None: 4 MiB on CPU, 64 MiB elsewhere.

    Returns:
        The scalar loss.

    Raises:
        ValueError: Mismatched shapes, an argument out of range, the `none` reduction
            (use TRL's loss for element-wise output), or a teacher requiring grad.
    """
    check_loss_arguments(beta, temperature, reduction)
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student logits {tuple(student_logits.shape)} and teacher logits "
            f"{tuple(teacher_logits.shape)} differ in shape"
        )
    reject_teacher_grad(teacher_logits)
    plan = plan_rows(
        student_logits.shape[:-1],
        student_logits.shape[-1],
        labels,
        student_logits.device,
        reduction=reduction,
        num_items_in_batch=num_items_in_batch,
        chunk_bytes=chunk_bytes or default_chunk_bytes(student_logits.device, fused=False),
    )
    teacher = FullTeacher(
        partial(plan.gather, teacher_logits), teacher_logits.dtype, beta=beta, temperature=temperature
    )
    return chunked_loss(student_logits, plan, teacher)
