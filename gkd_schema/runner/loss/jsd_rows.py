"""Generalized JSD of a chunk of token rows, and its gradient, in reused buffers.

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
from collections.abc import Callable
from typing import Protocol

import torch


class Workspace:
    """Chunk-sized buffers allocated once and reused by every chunk.

    Reuse matters on CPU: a fresh allocation of this size is a fresh mapping whose
    first touch page-faults, and in a virtual machine those faults cost more than the
    arithmetic (measured: 10x slower with per-chunk allocations).
    """

    def __init__(
        self, rows: int, vocab_size: int, io_dtype: torch.dtype, device: torch.device, *, teacher: bool = True
    ):
        """Allocate four `[rows, vocab]` compute buffers, and one in `io_dtype` if it differs.

        Args:
            rows: Rows of the largest chunk.
            vocab_size: Row length.
            io_dtype: Dtype of the student's logits read and of the gradient written.
            device: Where to allocate.
            teacher: Allocate `ws.teacher`; a top-K teacher has no logits to hold, so three
                compute buffers do (`ws.teacher` is then an empty tensor).
        """
        # float32, or float64 for float64 inputs: never less precise than the inputs.
        self.dtype = torch.promote_types(io_dtype, torch.float32)

        def buffer(dtype: torch.dtype) -> torch.Tensor:
            return torch.empty(rows, vocab_size, dtype=dtype, device=device)

        self.student, self.a, self.b = (buffer(self.dtype) for _ in range(3))
        self.teacher = buffer(self.dtype) if teacher else torch.empty(0, dtype=self.dtype, device=device)
        # Casts between the logits' dtype and the compute dtype go through this buffer.
        self.io = None if io_dtype == self.dtype else buffer(io_dtype)

    def load(
        self,
        target: torch.Tensor,
        fill: Callable[[torch.Tensor | None], torch.Tensor],
        n: int,
        source_dtype: torch.dtype,
    ) -> None:
        """Set `target[:n]` to `fill(out)`, which writes into `out` or, given None, returns.

        Args:
            target: `ws.student` or `ws.teacher`.
            fill: Produces the chunk's logits, in `source_dtype`.
            n: Rows in the chunk.
            source_dtype: Dtype `fill` produces.
        """
        if source_dtype == self.dtype:
            fill(target[:n])
        elif self.io is not None and source_dtype == self.io.dtype:
            fill(self.io[:n])
            target[:n].copy_(self.io[:n])
        else:  # e.g. a bfloat16 teacher for a float32 student
            target[:n].copy_(fill(None))

    def in_io_dtype(self, x: torch.Tensor) -> torch.Tensor:
        """`x` (a `[n, vocab]` compute-dtype view) in the logits' dtype, in the `io` buffer."""
        return x if self.io is None else self.io[: x.shape[0]].copy_(x)


def log_softmax_(x: torch.Tensor, scratch: torch.Tensor, temperature: float) -> torch.Tensor:
    """`log_softmax(x / temperature)` in place, with `scratch` for the exponentials."""
    x.div_(temperature)  # divided, as TRL does, not multiplied by 1 / temperature
    x.sub_(x.amax(dim=-1, keepdim=True))
    torch.exp(x, out=scratch)
    return x.sub_(scratch.sum(dim=-1, keepdim=True).log_())


def jsd_rows(
    ws: Workspace,
    n: int,
    *,
    beta: float,
    temperature: float,
    grad_scale: float | torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-row generalized JSD of the first `n` rows of the workspace, and its gradient.

    Reads raw logits from `ws.student[:n]` and `ws.teacher[:n]`; overwrites all four
    compute buffers.

    Args:
        ws: The workspace, loaded.
        n: Rows in this chunk.
        beta: Interpolation in [0, 1].
        temperature: Logit temperature.
        grad_scale: Multiplier of the gradient (1 / loss divisor); None skips the gradient.

    Returns:
        `(loss, grad)`: the `[n]` divergences and the `[n, vocab]` gradient of
        `grad_scale * loss.sum()` with respect to the student's logits (a view into
        the workspace, valid until the next chunk).
    """
    s = log_softmax_(ws.student[:n], ws.a[:n], temperature)
    t = log_softmax_(ws.teacher[:n], ws.a[:n], temperature)
    a, b = ws.a[:n], ws.b[:n]
    scale = None if grad_scale is None else grad_scale / temperature

    if beta == 0.0:
        p_t = torch.exp(t, out=a)
        loss = torch.mul(p_t, t.sub_(s), out=b).sum(dim=-1)
        if scale is None:
            return loss, None
        return loss, torch.exp(s, out=s).sub_(p_t).mul_(scale)

    if beta == 1.0:
        p_s = torch.exp(s, out=a)
        s_minus_t = s.sub_(t)
        loss = torch.mul(p_s, s_minus_t, out=b).sum(dim=-1)
        if scale is None:
            return loss, None
        return loss, s_minus_t.sub_(loss.unsqueeze(-1)).mul_(p_s).mul_(scale)

    # Mixed in log space, as TRL does, so that tiny probabilities keep their precision.
    m = torch.logaddexp(torch.add(s, math.log1p(-beta), out=a), torch.add(t, math.log(beta), out=b), out=a)
    p_t = torch.exp(t, out=b)
    kl_teacher = p_t.mul_(t.sub_(m)).sum(dim=-1)
    p_s = torch.exp(s, out=b)
    s_minus_m = s.sub_(m)
    kl_student = torch.mul(p_s, s_minus_m, out=t).sum(dim=-1)
    loss = beta * kl_teacher + (1.0 - beta) * kl_student
    if scale is None:
        return loss, None
    grad = s_minus_m.sub_(kl_student.unsqueeze(-1)).mul_(p_s).mul_((1.0 - beta) * scale)
    return loss, grad


class RowLoss(Protocol):
    """The divergence of a chunk of token rows whose student logits are in `ws.student[:n]`.

    The chunked and fused losses differ in how they get the student's logits (gathered,
    or projected from hidden states) and share their teacher: full logits
    (`FullTeacher`) or the teacher's top K (`jsd_topk_rows.TopKTeacherRows`).
    """

    needs_teacher_buffer: bool

    def __call__(
        self, ws: Workspace, rows: torch.Tensor, grad_scale: float | torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`(loss, grad)` of the chunk `rows` (flat indices), as `jsd_rows` returns them."""
        ...


class FullTeacher:
    """A teacher whose full logits for a chunk come from `fill(rows, out)`."""

    needs_teacher_buffer = True

    def __init__(
        self,
        fill: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor],
        dtype: torch.dtype,
        *,
        beta: float,
        temperature: float,
    ):
        """Args:
        fill: Writes the teacher's logits of `rows` into `out`, or returns them given None.
        dtype: Dtype `fill` produces.
        beta: Interpolation in [0, 1].
        temperature: Logit temperature.
        """
        self.fill, self.dtype, self.beta, self.temperature = fill, dtype, beta, temperature

    def __call__(
        self, ws: Workspace, rows: torch.Tensor, grad_scale: float | torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Load the teacher's logits of `rows`, then the generalized JSD of the chunk."""
        n = rows.numel()
        ws.load(ws.teacher, lambda out: self.fill(rows, out), n, self.dtype)
        return jsd_rows(ws, n, beta=self.beta, temperature=self.temperature, grad_scale=grad_scale)
