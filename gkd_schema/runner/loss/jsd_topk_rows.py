"""Generalized JSD on the teacher's top-K support, for a chunk of token rows, and its gradient.

For a token with the teacher's top-K ids `S` (the entries it sent; fewer than K where
absent), both models' full softmaxes (at temperature `T`) are coarsened onto buckets:

- with the tail (`top_k_tail: true`): the K ids, plus one bucket for the rest of the
  vocabulary: `q_k = p(i_k)`, `q_tail = 1 - sum_k p(i_k)`, a distribution over K + 1
  buckets on each side;
- without it: the K ids renormalised, `q_k = p(i_k) / sum_j p(i_j)`.

The divergence is `jsd_rows`' (forward KL at beta 0, reverse KL at beta 1, the beta
mixture between) of those bucket distributions. With the tail, the student's tail is
exact (the logsumexp of its logits outside `S`); the teacher's is what it sent, or
`log(1 - sum p)` clamped below 1 as TRL's `ServerDistillationTrainer` does. Where `S`
is the whole vocabulary the tail bucket is empty on both sides and drops out, so K =
vocabulary reproduces the full loss.

The gradient reaches the student's logits through the buckets: with `g_b` the gradient
of the loss with respect to the bucket log-probabilities and `G = sum_b g_b`,
`dL/dz_j = (g_b(j) p_j / q_b(j) - p_j G) / T`, where `b(j)` is `j`'s bucket (its own
for `j` in `S`, the tail otherwise; with no tail, `dL/dz_j = 0` outside `S`).
"""

from __future__ import annotations

import math

import torch

from gkd_schema.runner.loss.jsd_rows import Workspace, log_softmax_
from gkd_schema.runner.loss.topk_teacher import TeacherTopK, lse_

# TRL's `_add_tail_bucket`: the teacher's top-K mass is taken as at most 1 - 1e-7.
_TRL_TAIL_CLAMP = -1e-7


def bucket_divergence(
    student: torch.Tensor, teacher: torch.Tensor, support: torch.Tensor, beta: float
) -> torch.Tensor:
    """Per-row generalized JSD of bucket log-probabilities, terms outside `support` zero.

    Args:
        student: `[n, B]` student bucket log-probabilities.
        teacher: `[n, B]` teacher bucket log-probabilities.
        support: `[n, B]` which buckets exist.
        beta: Interpolation in [0, 1].

    Returns:
        `[n]` divergences, differentiable in `student`.
    """
    zero = torch.zeros((), dtype=student.dtype, device=student.device)
    # Absent entries become 0 before any arithmetic, so that no -inf reaches a product
    # whose gradient autograd would evaluate as 0 * inf.
    s = torch.where(support, student, zero)
    t = torch.where(support, teacher, zero)
    p_s = torch.where(support, s.exp(), zero)
    p_t = torch.where(support, t.exp(), zero)
    if beta == 0.0:
        return (p_t * (t - s)).sum(dim=-1)
    if beta == 1.0:
        return (p_s * (s - t)).sum(dim=-1)
    m = torch.logaddexp(s + math.log1p(-beta), t + math.log(beta))
    return beta * (p_t * (t - m)).sum(dim=-1) + (1.0 - beta) * (p_s * (s - m)).sum(dim=-1)


def _point_absent_at_present(ids: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """`ids` with each absent entry replaced by its row's first present id.

    Scatters into the vocabulary then write one value per id and add zero corrections
    for the duplicates, so absent entries never touch a token outside the support.
    """
    first = ids.gather(1, present.to(torch.uint8).argmax(dim=-1, keepdim=True))
    return torch.where(present, ids, first)


def _guarded_lse(x: torch.Tensor) -> torch.Tensor:
    """`logsumexp` over the last dimension; rows of only `-inf` give `-inf`, not nan."""
    return lse_(x.clone())


class TopKTeacherRows:
    """The `RowLoss` of a top-K teacher (see `jsd_rows.RowLoss`)."""

    needs_teacher_buffer = False

    def __init__(self, teacher: TeacherTopK, *, tail: bool, beta: float, temperature: float):
        """Args:
        teacher: The teacher's top K over the loss's leading shape.
        tail: Add the rest-of-the-vocabulary bucket; else renormalise over the K.
        beta: Interpolation in [0, 1].
        temperature: The student's logits are divided by it.
        """
        self.tail, self.beta, self.temperature = tail, beta, temperature
        k = teacher.k
        # `[positions, K]` and `[positions]` views, for `index_select` by flat row.
        self._ids = teacher.token_ids.reshape(-1, k).long()
        self._logprobs = teacher.logprobs.reshape(-1, k)
        self._tail = None if teacher.tail_logprob is None else teacher.tail_logprob.reshape(-1)

    def __call__(
        self, ws: Workspace, rows: torch.Tensor, grad_scale: float | torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`(loss [n], grad [n, vocab])` of the chunk `rows`, student logits in `ws.student`."""
        n = rows.numel()
        ids, t_k = self._ids.index_select(0, rows), self._logprobs.index_select(0, rows)
        t_tail = None if self._tail is None else self._tail.index_select(0, rows)
        t_k = t_k.to(ws.dtype)
        present = t_k > -math.inf
        ids = _point_absent_at_present(ids, present)
        s = log_softmax_(ws.student[:n], ws.a[:n], self.temperature)
        neg_inf = torch.full((), -math.inf, dtype=ws.dtype, device=s.device)
        s_at_ids = s.gather(1, ids)
        s_k = torch.where(present, s_at_ids, neg_inf)
        if self.tail:
            # The student's mass outside the support, exactly: its logsumexp there. A row
            # with no entries writes its own values back, so its whole mass is the tail.
            rest = ws.b[:n].copy_(s)
            rest.scatter_(1, ids, torch.where(present.any(dim=-1, keepdim=True), neg_inf, s_at_ids))
            s_tail = lse_(rest)
            if t_tail is None:
                t_tail = torch.log(-torch.expm1(_guarded_lse(t_k).clamp(max=_TRL_TAIL_CLAMP)))
            t_tail = t_tail.to(ws.dtype)
            tail_present = (s_tail > -math.inf) | (t_tail > -math.inf)
            student = torch.cat([s_k, s_tail.unsqueeze(-1)], dim=-1)
            teacher = torch.cat([t_k, t_tail.unsqueeze(-1)], dim=-1)
            support = torch.cat([present, tail_present.unsqueeze(-1)], dim=-1)
        else:
            student = s_k - _guarded_lse(s_k).unsqueeze(-1)
            teacher = t_k - _guarded_lse(t_k).unsqueeze(-1)
            support = present
        if grad_scale is None:
            return bucket_divergence(student, teacher, support, self.beta), None
        leaf = student.detach().requires_grad_()
        with torch.enable_grad():
            loss = bucket_divergence(leaf, teacher, support, self.beta)
            (g,) = torch.autograd.grad(loss.sum(), leaf)
        g = torch.where(support, g * (grad_scale / self.temperature), torch.zeros((), dtype=g.dtype))
        return loss.detach(), self._grad(s, ids, g, student, present)

    def _grad(
        self, s: torch.Tensor, ids: torch.Tensor, g: torch.Tensor, student: torch.Tensor, present: torch.Tensor
    ) -> torch.Tensor:
        """`dL/dz` into `s`'s buffer, from the bucket gradient `g` (already scaled)."""
        total = g.sum(dim=-1, keepdim=True)
        g_k = g[:, : ids.shape[1]]
        if not self.tail:
            q_k = student.exp()
            correction = torch.where(present, g_k - q_k * total, torch.zeros((), dtype=g.dtype))
            return s.zero_().scatter_add_(1, ids, correction)
        # Tail entries get p_j * (g_tail / q_tail - G); support entries g_k - p_j * G.
        q_tail = student[:, -1:].exp()
        per_tail_mass = torch.where(q_tail > 0, g[:, -1:] / q_tail.clamp_min(torch.finfo(g.dtype).tiny), 0.0)
        p_k = student[:, : ids.shape[1]].exp()
        correction = torch.where(present, g_k - p_k * per_tail_mass, torch.zeros((), dtype=g.dtype))
        grad = s.exp_().mul_(per_tail_mass - total)
        return grad.scatter_add_(1, ids, correction)

