"""Generalized JSD from final hidden states and output projections, never building full logits.

The idea of Liger's fused linear JSD, in plain PyTorch so that it runs on any device:
for each chunk of token rows the student's and teacher's logits are projected, turned
into the loss and its gradient, and projected back into gradients for the student's
hidden states, output weight and bias. The largest tensors it creates are those
gradients, which backward has to return anyway.
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


def project(
    hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, out: torch.Tensor | None
) -> torch.Tensor:
    """`F.linear(hidden, weight, bias)`, written into `out` (a workspace buffer) if given."""
    if bias is None:
        return torch.matmul(hidden, weight.t(), out=out)
    return torch.addmm(bias, hidden, weight.t(), out=out)


class _FusedLinearJSD(torch.autograd.Function):
    """Loss and student gradients in one pass over chunks; backward only rescales."""

    @staticmethod
    def forward(
        ctx: Any,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        plan: RowPlan,
        row_loss: RowLoss,
    ) -> torch.Tensor:
        need_hidden, need_weight, need_bias = (bool(x) for x in ctx.needs_input_grad[:3])
        need_bias = need_bias and bias is not None
        want_grad = need_hidden or need_weight or need_bias
        grad_hidden = torch.zeros_like(hidden, memory_format=torch.contiguous_format) if need_hidden else None
        ws = Workspace(
            plan.chunk_rows, weight.shape[0], weight.dtype, weight.device, teacher=row_loss.needs_teacher_buffer
        )
        # Accumulators in the compute dtype: summing many chunk products in bfloat16 loses bits.
        grad_weight = torch.zeros(weight.shape, dtype=ws.dtype, device=weight.device) if need_weight else None
        grad_bias = torch.zeros(weight.shape[0], dtype=ws.dtype, device=weight.device) if need_bias else None
        grad_scale = plan.grad_scale() if want_grad else None
        total = torch.zeros((), dtype=ws.dtype, device=hidden.device)
        for rows in plan.chunks():
            chunk_hidden = plan.gather(hidden, rows)
            ws.load(ws.student, partial(project, chunk_hidden, weight, bias), rows.numel(), weight.dtype)
            loss, grad_logits = row_loss(ws, rows, grad_scale)
            total += loss.sum()
            if grad_logits is None:
                continue
            if grad_hidden is not None:
                chunk_grad_hidden = ws.in_io_dtype(grad_logits) @ weight
                grad_hidden.view(-1, hidden.shape[-1]).index_copy_(0, rows, chunk_grad_hidden.to(hidden.dtype))
            if grad_weight is not None:
                grad_weight.addmm_(grad_logits.t(), chunk_hidden.to(ws.dtype))
            if grad_bias is not None:
                grad_bias += grad_logits.sum(dim=0)
        ctx.grads = (
            grad_hidden,
            None if grad_weight is None else grad_weight.to(weight.dtype),
            None if grad_bias is None or bias is None else grad_bias.to(bias.dtype),
        )
        return (total / plan.divisor).to(hidden.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        grads = release_scaled_grads(ctx, grad_output, "fused")
        return (*grads, None, None)


def fused_loss(
    hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, plan: RowPlan, row_loss: RowLoss
) -> torch.Tensor:
    """The loss of `row_loss` over the rows of `plan`, from the student's hidden states.

    Args:
        hidden: `[..., hidden]` final hidden states of the student.
        weight: `[vocab, hidden]` its output projection.
        bias: Its optional `[vocab]` bias.
        plan: The rows to visit and the normalisation.
        row_loss: The teacher side and the divergence of a chunk.

    Returns:
        The scalar loss, in the hidden states' dtype.
    """
    loss: torch.Tensor = _FusedLinearJSD.apply(hidden, weight, bias, plan, row_loss)  # type: ignore[no-untyped-call]
    return loss


def fused_linear_generalized_jsd_loss(
    student_hidden: torch.Tensor,
    student_weight: torch.Tensor,
    teacher_hidden: torch.Tensor,
    teacher_weight: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    student_bias: torch.Tensor | None = None,
    teacher_bias: torch.Tensor | None = None,
    beta: float = 0.5,
    temperature: float = 1.0,
    reduction: str = "batchmean",
    num_items_in_batch: int | float | torch.Tensor | None = None,
    chunk_bytes: int | None = None,
) -> torch.Tensor:
    """TRL's generalized JSD of `F.linear(hidden, weight, bias)` logits, chunk by chunk.

    Equal to `generalized_jsd_loss(F.linear(student_hidden, student_weight,
    student_bias), F.linear(teacher_hidden, ...), labels, ...)` with TRL's semantics
    (see `chunked_generalized_jsd_loss`). Each chunk's logits are projected in the
    weights' dtype, as the model's own output layer does, and the loss is computed in
    float32 (float64 for float64 weights). Gradients reach the student's hidden states, weight and bias; the teacher
    gets none.

    Args:
        student_hidden: `[..., hidden_s]` final hidden states of the student.
        student_weight: `[vocab, hidden_s]` student output projection.
        teacher_hidden: `[..., hidden_t]` teacher hidden states, same leading shape.
        teacher_weight: `[vocab, hidden_t]` teacher output projection.
        labels: Labels of the leading shape; rows labelled -100 are ignored.
        student_bias: Optional `[vocab]` bias of the student's projection.
        teacher_bias: Optional `[vocab]` bias of the teacher's projection.
        beta: Interpolation in [0, 1].
        temperature: Logits are divided by it before the softmaxes.
        reduction: `batchmean`, `sum` or `mean`, as in TRL.
        num_items_in_batch: When given, the loss is the sum divided by it.
        chunk_bytes: Size of one float32 `[rows, vocab]` workspace buffer; the loss
            allocates four (five for other dtypes) and reuses them for every chunk.
            None: 32 MiB on CPU, 64 MiB elsewhere.

    Returns:
        The scalar loss, in the hidden states' dtype.

    Raises:
        ValueError: Mismatched shapes or vocabularies, an argument out of range, the
            `none` reduction, or teacher tensors requiring grad.
    """
    check_loss_arguments(beta, temperature, reduction)
    if student_hidden.shape[:-1] != teacher_hidden.shape[:-1]:
        raise ValueError(
            f"student hidden states {tuple(student_hidden.shape)} and teacher hidden states "
            f"{tuple(teacher_hidden.shape)} differ in their token dimensions"
        )
    for name, hidden, weight in (
        ("student", student_hidden, student_weight),
        ("teacher", teacher_hidden, teacher_weight),
    ):
        if weight.dim() != 2 or weight.shape[1] != hidden.shape[-1]:
            raise ValueError(
                f"{name} weight {tuple(weight.shape)} does not project hidden states of size {hidden.shape[-1]}"
            )
    if student_weight.shape[0] != teacher_weight.shape[0]:
        raise ValueError(
            f"student vocabulary {student_weight.shape[0]} differs from the teacher's {teacher_weight.shape[0]}"
        )
    reject_teacher_grad(teacher_hidden, teacher_weight, teacher_bias)
    plan = plan_rows(
        student_hidden.shape[:-1],
        student_weight.shape[0],
        labels,
        student_hidden.device,
        reduction=reduction,
        num_items_in_batch=num_items_in_batch,
        chunk_bytes=chunk_bytes or default_chunk_bytes(student_hidden.device, fused=True),
    )
    def project_teacher(rows: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
        return project(plan.gather(teacher_hidden, rows), teacher_weight, teacher_bias, out)

    teacher = FullTeacher(project_teacher, teacher_weight.dtype, beta=beta, temperature=temperature)
    return fused_loss(student_hidden, student_weight, student_bias, plan, teacher)
