"""Liger's fused linear JSD kernel (CUDA only), normalised as TRL normalises the GKD loss."""

from __future__ import annotations

import torch

from gkd_schema.runner.loss.jsd_plan import IGNORE_INDEX, shift_labels


def liger_loss(
    student_hidden: torch.Tensor,
    student_head: torch.nn.Linear,
    teacher_hidden: torch.Tensor,
    teacher_head: torch.nn.Linear,
    labels: torch.Tensor,
    *,
    beta: float,
    temperature: float,
    num_items_in_batch: int | torch.Tensor | None,
) -> torch.Tensor:
    """Liger's fused linear JSD (CUDA only), normalised like TRL."""
    try:
        from liger_kernel.transformers.fused_linear_jsd import (  # type: ignore[import-not-found, unused-ignore]
            LigerFusedLinearJSD,
        )
    except ImportError as exc:
        raise ImportError(
            "gkd.loss_implementation: liger needs Liger's kernels: `pip install liger-kernel` "
            "(CUDA only); or use `chunked` (the default) or `fused`, which run anywhere"
        ) from exc
    if student_hidden.device.type != "cuda":
        raise RuntimeError(
            "gkd.loss_implementation: liger needs a CUDA device, but the model is on "
            f"{student_hidden.device.type}; use `chunked` (the default) or `fused` instead"
        )
    if student_head.bias is not None or teacher_head.bias is not None:
        raise ValueError("gkd.loss_implementation: liger does not support an output layer with a bias; use `fused`")
    flat_labels = shift_labels(labels).reshape(-1)
    jsd = LigerFusedLinearJSD(jsd_beta=beta, ignore_index=IGNORE_INDEX, temperature=temperature)
    # Liger averages over the unmasked tokens, which is TRL's `batchmean`.
    loss: torch.Tensor = jsd(
        student_hidden.reshape(-1, student_hidden.shape[-1]),
        student_head.weight,
        teacher_hidden.reshape(-1, teacher_hidden.shape[-1]),
        teacher_head.weight.detach(),  # a trainable teacher parameter, used as a constant
        flat_labels,
    )
    if num_items_in_batch is not None:
        n_valid = (flat_labels != IGNORE_INDEX).sum()
        loss = loss * n_valid / num_items_in_batch
    return loss
