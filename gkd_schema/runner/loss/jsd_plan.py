"""Which token rows a chunked JSD loss visits, in chunks of what size, and its normalisation.

The normalisation is TRL's (`GKDTrainer.generalized_jsd_loss`, TRL 1.16): labels of
-100 are skipped; `num_items_in_batch`, when given, divides the sum and wins over
`reduction`; `batchmean` divides by the unmasked-row count (by the first dimension
without labels), `mean` by every (row, vocab) element, `sum` by nothing.
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

MIB = 1024 * 1024
# Bytes of one float32 [rows, vocab] workspace buffer, from single runs on a shared
# 2-core CPU at 1,024 tokens x vocabulary 151,936. The row-wise softmax math is fastest in
# small, cache-sized chunks (1-4 MiB: 0.6-0.7 s; 16 MiB: 0.85 s; 32 MiB: 1.1 s). The fused
# loss also adds each chunk's product into the [vocab, hidden] weight gradient, one pass
# over that whole gradient per chunk, so it wants more rows (4 MiB: 45 s; 16 MiB: 12 s;
# 32 MiB: 8.7 s; 64 MiB: 7.8-8.5 s): 32 MiB costs 10-20% more time than 64 MiB for half
# the workspace, which keeps `fused` well under 0.15x the memory of full logits + TRL.
# Off CPU the size is a guess (not measured): larger chunks amortise kernel launches.
CPU_CHUNK_BYTES = 4 * MIB
CPU_FUSED_CHUNK_BYTES = 32 * MIB
ACCELERATOR_CHUNK_BYTES = 64 * MIB


def shift_labels(labels: torch.Tensor) -> torch.Tensor:
    """`labels[:, 1:]` padded back to full length with -100: position i scores token i + 1.

    Args:
        labels: `[batch, seq]` labels.

    Returns:
        `[batch, seq]` labels; the last column is ignored.
    """
    return torch.nn.functional.pad(labels[:, 1:], (0, 1), value=IGNORE_INDEX)


def default_chunk_bytes(device: torch.device, *, fused: bool) -> int:
    """The workspace buffer size used when the caller gives none.

    Args:
        device: Where the loss runs.
        fused: Whether it is the fused (hidden states + weight) loss.

    Returns:
        Bytes of one float32 `[rows, vocab]` buffer.
    """
    if device.type != "cpu":
        return ACCELERATOR_CHUNK_BYTES
    return CPU_FUSED_CHUNK_BYTES if fused else CPU_CHUNK_BYTES


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


def release_scaled_grads(
    ctx: object, grad_output: torch.Tensor, loss_name: str
) -> tuple[torch.Tensor | None, ...]:
    """Hand the gradients saved in forward (`ctx.grads`) to backward, scaled in place.

    In place because the buffers are as large as the inputs and nothing else holds
    them; so a second backward through the same loss is refused.
    """
    grads: tuple[torch.Tensor | None, ...] | None = getattr(ctx, "grads", None)
    if grads is None:
        raise RuntimeError(
            f"backward through the {loss_name} JSD loss twice is not supported: "
            "its gradient buffers are scaled in place"
        )
    ctx.grads = None  # type: ignore[attr-defined]
    if not torch.equal(grad_output, torch.ones_like(grad_output)):
        for grad in grads:
            if grad is not None:
                grad.mul_(grad_output.to(grad.dtype))
    return grads


def rows_per_chunk(vocab_size: int, chunk_bytes: int) -> int:
    """How many token rows fit in one float32 `[rows, vocab]` buffer of `chunk_bytes`.

    Args:
        vocab_size: Length of a row.
        chunk_bytes: Budget of one buffer.

    Returns:
        At least 1.
    """
    return max(1, chunk_bytes // (4 * max(vocab_size, 1)))


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


@dataclass(frozen=True)
class RowPlan:
    """Which token rows a loss visits, in which chunks, and what it divides the sum by."""

    leading_shape: torch.Size
    """The logits' shape without the vocabulary dimension."""
    flat_index: torch.Tensor
    """Row-major indices, over the flattened leading dimensions, of the unmasked rows."""
    divisor: float | torch.Tensor
    """What TRL divides the summed divergence by."""
    chunk_rows: int
    """Rows per chunk."""

    @property
    def n_valid(self) -> int:
        """Number of rows the loss visits."""
        return int(self.flat_index.numel())

    def chunks(self) -> Iterator[torch.Tensor]:
        """Flat indices of successive chunks of at most `chunk_rows` rows."""
        for start in range(0, self.n_valid, self.chunk_rows):
            yield self.flat_index[start : start + self.chunk_rows]

    def grad_scale(self) -> float | torch.Tensor:
        """The factor applied to each row's gradient: 1 / divisor."""
        return 1.0 / self.divisor

    def gather(self, x: torch.Tensor, rows: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """The `rows` (flat indices) of `x`, shaped `[*leading_shape, width]`, into `out`."""
        flat = _flat_rows(x)
        if flat is not None:
            if out is None:
                return flat.index_select(0, rows)
            return torch.index_select(flat, 0, rows, out=out)
        # A view whose leading dimensions cannot be merged (e.g. `logits[:, :-1]`).
        picked = x[torch.unravel_index(rows, self.leading_shape)]
        return picked if out is None else out.copy_(picked)


def _flat_rows(x: torch.Tensor) -> torch.Tensor | None:
    """`x` as `[rows, width]` without copying, or None when its strides do not allow it."""
    try:
        return x.view(-1, x.shape[-1])
    except RuntimeError:
        return None


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
            raise ValueError(f"labels have shape {tuple(labels.shape)}, expected {tuple(leading_shape)}")
        mask = labels.to(device) != IGNORE_INDEX
    flat_index = torch.nonzero(mask.reshape(-1)).squeeze(-1)
    n_valid = int(flat_index.numel())
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
    return RowPlan(
        leading_shape=leading_shape,
        flat_index=flat_index,
        divisor=divisor,
        chunk_rows=min(rows_per_chunk(vocab_size, chunk_bytes), max(n_valid, 1)),
    )
