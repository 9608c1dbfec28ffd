"""The teacher's top-K log-probabilities per token: all a top-K loss keeps of the teacher.

A local teacher's are computed here from its final hidden states (or logits), a chunk of
token rows at a time, so that at most one chunk of `[rows, vocab]` logits exists; a
teacher server sends the same three tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch

from gkd_schema.runner.loss.jsd_fused import project
from gkd_schema.runner.loss.jsd_plan import RowPlan, plan_rows
from gkd_schema.runner.loss.jsd_rows import Workspace, log_softmax_

# All three workspace buffers together: the teacher's side is done, and its buffers freed,
# before the loss allocates its own.
TEACHER_CHUNK_BYTES = 96 * 1024 * 1024


@dataclass(frozen=True)
class TeacherTopK:
    """The teacher's top K per token position, over the positions' leading shape.

    An entry whose log-probability is `-inf` is absent (a position with fewer than K
    entries); positions the loss ignores may hold anything.
    """

    token_ids: torch.Tensor
    """`[..., K]` token ids (int64)."""
    logprobs: torch.Tensor
    """`[..., K]` log-probabilities under the teacher's full softmax."""
    tail_logprob: torch.Tensor | None = None
    """`[...]` log of the mass outside the K entries (`-inf` when they are the whole
    vocabulary); None derives it from `logprobs` as `log(1 - sum p)`, as TRL does."""

    @property
    def k(self) -> int:
        """Entries per position."""
        return int(self.token_ids.shape[-1])

    def check(self, leading_shape: torch.Size, vocab_size: int) -> None:
        """Refuse tensors that do not fit the student's positions and vocabulary.

        Raises:
            ValueError: Mismatched shapes, non-integer ids, or ids outside the vocabulary.
        """
        if self.token_ids.shape != self.logprobs.shape or self.token_ids.shape[:-1] != leading_shape:
            raise ValueError(
                f"teacher top-K ids {tuple(self.token_ids.shape)} and log-probs {tuple(self.logprobs.shape)} "
                f"must both be [{', '.join(map(str, leading_shape))}, K]"
            )
        if self.tail_logprob is not None and self.tail_logprob.shape != leading_shape:
            raise ValueError(f"teacher tail log-probs {tuple(self.tail_logprob.shape)} must be {tuple(leading_shape)}")
        if self.token_ids.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"teacher top-K ids must be integers, got {self.token_ids.dtype}")
        present = self.logprobs > -math.inf
        ids = self.token_ids[present]
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
            raise ValueError(f"teacher top-K ids must lie in [0, {vocab_size}), got {int(ids.min())}..{int(ids.max())}")
        if any(x.requires_grad for x in (self.logprobs, self.tail_logprob) if x is not None):
            raise ValueError("the teacher's top-K log-probs require grad; compute them under torch.no_grad()")


def lse_(x: torch.Tensor) -> torch.Tensor:
    """Row-wise logsumexp of `x` (`[n, vocab]`), overwriting it; rows of only `-inf` give `-inf`."""
    top = x.amax(dim=-1, keepdim=True)
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    return x.sub_(top).exp_().sum(dim=-1).log_().add_(top.squeeze(-1))


def top_k_of_rows(
    logits: torch.Tensor, scratch: torch.Tensor, k: int, temperature: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The top-K ids, log-probabilities and tail log-probability of each row of `logits`.

    Args:
        logits: `[n, vocab]` compute-dtype logits; overwritten.
        scratch: A buffer of the same shape, for the softmax's exponentials.
        k: Entries per row, at most the vocabulary size.
        temperature: The logits are divided by it before the softmax.

    Returns:
        `(ids [n, k], logprobs [n, k], tail [n])`; the tail is computed in log space from
        the logits outside the K, so it is exact however small it is.
    """
    log_p = log_softmax_(logits, scratch, temperature)
    values, ids = log_p.topk(k, dim=-1, sorted=True)
    tail = lse_(log_p.scatter_(1, ids, -math.inf))
    return ids, values, tail


def teacher_top_k(
    fill: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor],
    dtype: torch.dtype,
    plan: RowPlan,
    k: int,
    vocab_size: int,
    *,
    temperature: float = 1.0,
) -> TeacherTopK:
    """The teacher's top K at the rows of `plan`, from logits produced a chunk at a time.

    Args:
        fill: Writes the teacher's `[n, vocab]` logits of the flat rows it is given into
            `out`, or returns them given None (as `Workspace.load` expects).
        dtype: Dtype `fill` produces.
        plan: The rows to visit (its `chunk_rows` bounds each chunk).
        k: Entries per position.
        vocab_size: The teacher's vocabulary size.
        temperature: Logit temperature of the teacher's softmax.

    Returns:
        Tensors over the plan's leading shape; rows outside the plan hold no entries.

    Raises:
        ValueError: `k` outside [1, vocab_size].
    """
    if not 1 <= k <= vocab_size:
        raise ValueError(f"teacher.top_k must be between 1 and the vocabulary size ({vocab_size}), got {k}")
    positions = math.prod(plan.leading_shape)
    device = plan.flat_index.device
    # Buffers reused by every chunk: fresh chunk-sized allocations page-fault on CPU.
    ws = Workspace(plan.chunk_rows, vocab_size, dtype, device, teacher=False)
    ids = torch.zeros(positions, k, dtype=torch.int64, device=device)
    logprobs = torch.full((positions, k), -math.inf, dtype=ws.dtype, device=device)
    tail = torch.full((positions,), -math.inf, dtype=ws.dtype, device=device)
    for rows in plan.chunks():
        n = rows.numel()
        ws.load(ws.student, partial(fill, rows), n, dtype)
        chunk_ids, chunk_logprobs, chunk_tail = top_k_of_rows(ws.student[:n], ws.a[:n], k, temperature)
        ids.index_copy_(0, rows, chunk_ids)
        logprobs.index_copy_(0, rows, chunk_logprobs)
        tail.index_copy_(0, rows, chunk_tail)
    shape = plan.leading_shape
    return TeacherTopK(ids.view(*shape, k), logprobs.view(*shape, k), tail.view(shape))


def teacher_top_k_from_hidden(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    labels: torch.Tensor | None,
    k: int,
    *,
    temperature: float = 1.0,
    chunk_bytes: int = TEACHER_CHUNK_BYTES,
) -> TeacherTopK:
    """The teacher's top K from its final hidden states and output layer, chunk by chunk.

    Args:
        hidden: `[..., hidden]` teacher hidden states.
        weight: `[vocab, hidden]` output projection.
        bias: Optional `[vocab]` bias.
        labels: Labels of the leading shape; only rows not labelled -100 are computed.
        k: Entries per position.
        temperature: Logit temperature.
        chunk_bytes: Budget of one float32 chunk of logits.

    Returns:
        The top K over `hidden`'s leading shape.
    """
    plan = _plan(hidden, weight.shape[0], labels, chunk_bytes)
    hidden, weight, bias = hidden.detach(), weight.detach(), None if bias is None else bias.detach()

    def fill(rows: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
        return project(plan.gather(hidden, rows), weight, bias, out)

    return teacher_top_k(fill, weight.dtype, plan, k, weight.shape[0], temperature=temperature)


def teacher_top_k_from_logits(
    logits: torch.Tensor,
    labels: torch.Tensor | None,
    k: int,
    *,
    temperature: float = 1.0,
    chunk_bytes: int = TEACHER_CHUNK_BYTES,
) -> TeacherTopK:
    """The teacher's top K from full logits (a teacher whose output layer is not reachable)."""
    plan = _plan(logits, logits.shape[-1], labels, chunk_bytes)
    detached = logits.detach()

    def fill(rows: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
        return plan.gather(detached, rows, out)

    return teacher_top_k(fill, logits.dtype, plan, k, logits.shape[-1], temperature=temperature)


def _plan(x: torch.Tensor, vocab_size: int, labels: torch.Tensor | None, chunk_bytes: int) -> RowPlan:
    # The workspace holds three chunk-sized buffers: each gets a third of the budget.
    return plan_rows(
        x.shape[:-1],
        vocab_size,
        labels,
        x.device,
        reduction="sum",
        num_items_in_batch=None,
        chunk_bytes=chunk_bytes // 3,
    )
