"""Generalized JSD of a block of token rows, with its gradient, and the loss normalisation.

This is the math shared by the chunked and the fused losses. It has TRL's semantics
(`GKDTrainer.generalized_jsd_loss` in TRL 1.16): with `s`, `t` the log-softmaxes of the
student's and teacher's logits divided by the temperature `T`, and `p = exp`:

- beta 0: forward KL(teacher || student) = sum p_t (t - s)
- beta 1: reverse KL(student || teacher) = sum p_s (s - t)
- otherwise, with the mixture m = log((1 - beta) p_s + beta p_t):
  beta * KL(teacher || m) + (1 - beta) * KL(student || m)

Gradients with respect to the student's logits (derived by hand so that no autograd
graph, and hence no stored intermediates, is needed):

- beta 0: (p_s - p_t) / T
- beta 1: p_s (s - t - KL) / T
- mixture: (1 - beta) p_s ((s - m) - KL(student || m)) / T
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import torch

Reduction = Literal["batchmean", "sum", "mean"]
REDUCTIONS: tuple[str, ...] = ("batchmean", "sum", "mean")
IGNORE_INDEX = -100

# 16 MiB per [rows, vocab] float32 buffer: well under glibc's 32 MiB mmap threshold, above
# which every temporary is a fresh mmap that page-faults on first touch (measured on CPU).
DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024


def check_loss_arguments(beta: float, temperature: float, reduction: str) -> None:
    """Reject arguments for which the chunked losses cannot reproduce TRL's.

    Args:
        beta: The generalized JSD interpolation, in [0, 1].
        temperature: Logit temperature, positive.
        reduction: One of `batchmean`, `sum`, `mean`.

    Raises:
        ValueError: An argument out of range, or an unsupported reduction. TRL's `none`
            (and any unknown string) returns the element-wise `[tokens, vocab]`
            divergence, which is exactly the tensor these losses exist to avoid.
    """
    if not 0.0 <= beta <= 1.0 or math.isnan(beta):
        raise ValueError(f"beta must be in [0, 1], got {beta}")
    if not temperature > 0.0 or math.isinf(temperature):
        raise ValueError(f"temperature must be a positive finite number, got {temperature}")
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}; for the "
            "element-wise divergence use TRL's generalized_jsd_loss (loss_implementation: trl)"
        )


def rows_per_chunk(vocab_size: int, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> int:
    """How many token rows fit in one float32 `[rows, vocab]` buffer of `chunk_bytes`.

    Args:
        vocab_size: Length of a row.
        chunk_bytes: Budget of one buffer; a chunk keeps about six such buffers alive.

    Returns:
        At least 1.
    """
    return max(1, chunk_bytes // (4 * max(vocab_size, 1)))


@dataclass(frozen=True)
class RowPlan:
    """Which token rows a loss visits, in which chunks, and what it divides the sum by."""

    index: tuple[torch.Tensor, ...]
    """Indices (one tensor per leading dimension) of the rows whose label is not -100."""
    divisor: float | torch.Tensor
    """What TRL divides the summed divergence by."""
    chunk_rows: int
    """Rows per chunk."""

    @property
    def n_valid(self) -> int:
        """Number of rows the loss visits."""
        return int(self.index[0].numel())

    def chunks(self) -> Iterator[tuple[torch.Tensor, ...]]:
        """Advanced indices of successive chunks of at most `chunk_rows` rows."""
        for start in range(0, self.n_valid, self.chunk_rows):
            yield tuple(i[start : start + self.chunk_rows] for i in self.index)

    def grad_scale(self) -> float | torch.Tensor:
        """The factor applied to each row's gradient: 1 / divisor."""
        return 1.0 / self.divisor


def plan_rows(
    leading_shape: torch.Size,
    vocab_size: int,
    labels: torch.Tensor | None,
    device: torch.device,
    *,
    reduction: str,
    num_items_in_batch: int | float | torch.Tensor | None,
    chunk_bytes: int,
) -> RowPlan:
    """Select the unmasked rows and compute TRL's normalisation for them.

    Args:
        leading_shape: The logits' shape without the vocabulary dimension.
        vocab_size: Length of a row.
        labels: Labels of `leading_shape` (-100 = ignored), or None to keep every row.
        device: Where the logits are.
        reduction: `batchmean`, `sum` or `mean`.
        num_items_in_batch: The global token count under gradient accumulation; when
            given it wins over `reduction`, as in TRL.
        chunk_bytes: Budget of one float32 `[rows, vocab]` buffer.

    Returns:
        The plan.

    Raises:
        ValueError: The labels' shape differs from `leading_shape`.
    """
    if labels is None:
        mask = torch.ones(leading_shape, dtype=torch.bool, device=device)
    else:
        if labels.shape != leading_shape:
            raise ValueError(
                f"labels have shape {tuple(labels.shape)}, expected {tuple(leading_shape)}"
            )
        mask = labels.to(device) != IGNORE_INDEX
    index = torch.nonzero(mask, as_tuple=True)
    n_valid = int(index[0].numel())
    divisor: float | torch.Tensor
    if num_items_in_batch is not None:
        divisor = num_items_in_batch
        if isinstance(divisor, torch.Tensor):
            divisor = divisor.to(device)
    elif reduction == "batchmean":
        # TRL: the unmasked-row count (at least 1) with labels, else the first dimension.
        divisor = float(max(n_valid if labels is not None else leading_shape[0], 1))
    elif reduction == "sum":
        divisor = 1.0
    else:
        # `mean` averages over every (row, vocab) element; 0/0 is nan, as in TRL.
        divisor = float(n_valid * vocab_size) if n_valid else math.nan
    return RowPlan(index=index, divisor=divisor, chunk_rows=rows_per_chunk(vocab_size, chunk_bytes))


def jsd_rows(
    student: torch.Tensor,
    teacher: torch.Tensor,
    *,
    beta: float,
    temperature: float,
    grad_scale: float | torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-row generalized JSD of float32 logits, and optionally its gradient.

    Both inputs are overwritten (they are chunk-sized scratch copies), which keeps the
    number of live `[rows, vocab]` buffers at about six.

    Args:
        student: `[rows, vocab]` float32 student logits (scratch, overwritten).
        teacher: `[rows, vocab]` float32 teacher logits (scratch, overwritten).
        beta: Interpolation in [0, 1].
        temperature: Logit temperature.
        grad_scale: Multiplier of the gradient (1 / loss divisor); None skips the gradient.

    Returns:
        `(loss, grad)`: the `[rows]` divergences and the `[rows, vocab]` float32
        gradient of `grad_scale * loss.sum()` with respect to the student's logits.
    """
    inv_t = 1.0 / temperature
    s = student.mul_(inv_t)
    s = s.sub_(torch.logsumexp(s, dim=-1, keepdim=True))
    t = teacher.mul_(inv_t)
    t = t.sub_(torch.logsumexp(t, dim=-1, keepdim=True))
    scale = None if grad_scale is None else grad_scale * inv_t

    if beta == 0.0:
        p_t = t.exp()
        loss = (p_t * t.sub_(s)).sum(dim=-1)
        if scale is None:
            return loss, None
        return loss, s.exp_().sub_(p_t).mul_(scale)

    if beta == 1.0:
        p_s = s.exp()
        s_minus_t = s.sub_(t)
        loss = (p_s * s_minus_t).sum(dim=-1)
        if scale is None:
            return loss, None
        return loss, s_minus_t.sub_(loss.unsqueeze(-1)).mul_(p_s).mul_(scale)

    # Mixed in log space, as TRL does, so that tiny probabilities keep their precision.
    m = torch.logaddexp(s + math.log1p(-beta), t + math.log(beta))
    kl_teacher = (t.exp() * (t - m)).sum(dim=-1)
    p_s = s.exp()
    s_minus_m = s.sub_(m)
    kl_student = (p_s * s_minus_m).sum(dim=-1)
    loss = beta * kl_teacher + (1.0 - beta) * kl_student
    if scale is None:
        return loss, None
    grad = s_minus_m.sub_(kl_student.unsqueeze(-1)).mul_(p_s).mul_((1.0 - beta) * scale)
    return loss, grad


def reject_teacher_grad(*tensors: torch.Tensor | None) -> None:
    """Refuse teacher tensors that require grad: these losses treat the teacher as constant.

    Raises:
        ValueError: One of `tensors` requires grad.
    """
    if any(x is not None and x.requires_grad for x in tensors):
        raise ValueError(
            "the teacher's tensors require grad, but this loss gives the teacher no "
            "gradient; compute the teacher under torch.no_grad() or .detach() them"
        )
