"""Shard the teacher under FSDP, which TRL 1.16's GKD trainer does not do.

TRL prepares the teacher with `accelerator.prepare_model(teacher, evaluation_mode=True)`
unless DeepSpeed is on. Under FSDP that call neither wraps the model (evaluation mode
skips the wrap) nor moves it (accelerate leaves placement to FSDP): the teacher stays
whole and on the CPU, and its first forward on GPU inputs fails. TRL's own
`prepare_fsdp` (used for reference models elsewhere in TRL) shards it in eval mode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def is_fsdp_wrapped(model: Any) -> bool:
    """Whether `model` is already an FSDP1 module or an FSDP2 (`fully_shard`) one."""
    try:
        from torch.distributed.fsdp import FSDPModule, FullyShardedDataParallel
    except ImportError:  # a torch built without distributed support cannot be under FSDP
        return False
    return isinstance(model, (FullyShardedDataParallel, FSDPModule))


def shard_teacher(
    teacher: Any,
    accelerator: Any,
    *,
    fsdp_enabled: bool,
    prepare: Callable[[Any, Any], Any] | None = None,
) -> Any:
    """The teacher as the trainer should hold it: FSDP-sharded when the student is.

    Args:
        teacher: The teacher as TRL's trainer left it.
        accelerator: The trainer's accelerator (its FSDP plugin says how to shard).
        fsdp_enabled: Whether the run uses FSDP (`trainer.is_fsdp_enabled`).
        prepare: How to shard (default TRL's `prepare_fsdp`); tests pass a stand-in.

    Returns:
        `teacher` unchanged without FSDP or when already wrapped, else the sharded teacher.
    """
    if not fsdp_enabled or teacher is None or is_fsdp_wrapped(teacher):
        return teacher
    if prepare is None:
        from gkd_schema.runner.preflight.trl_compat import prepare_fsdp

        prepare = prepare_fsdp()
    return prepare(teacher, accelerator)

