"""Ctrl-C during training: finish the step, save a checkpoint, stop (exit 130).

The first Ctrl-C sets a flag that a trainer callback turns into "save and stop" at
the end of the current optimizer step, so the output directory only ever holds
complete checkpoints and the next `gkd run` with `training.resume: auto` continues
from it. A second Ctrl-C aborts at once (checkpoints are still only counted when
complete, see `output_dir.py`).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

# The shell's code for a process stopped by SIGINT; `gkd run` and its launcher both use it.
EXIT_INTERRUPTED = 130


class InterruptFlag:
    """Set by the first SIGINT; read by `StopOnInterrupt`."""

    def __init__(self) -> None:
        self.requested = False


@contextmanager
def graceful_interrupt(echo: Callable[[str], None]) -> Iterator[InterruptFlag]:
    """Within the block, the first Ctrl-C requests a clean stop instead of raising.

    Args:
        echo: Prints the notice to the user.

    Yields:
        The flag the training callback watches.
    """
    flag = InterruptFlag()
    if threading.current_thread() is not threading.main_thread():
        # Only the main thread may handle signals; elsewhere Ctrl-C keeps its default.
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)

    def _handler(signum: int, frame: FrameType | None) -> None:
        if flag.requested:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        flag.requested = True
        echo(
            "\nCtrl-C: stopping after this step and saving a checkpoint "
            "(press Ctrl-C again to abort now)."
        )

    signal.signal(signal.SIGINT, _handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def agree_across_processes(local: bool, device: Any) -> bool:
    """True on every process when it is True on any (a no-op on one process).

    Ctrl-C reaches the ranks of a job at slightly different moments; if one rank
    stopped a step before the others, the others would wait for it forever.
    """
    if "torch.distributed" not in sys.modules:
        return local
    import torch
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_initialized() or dist.get_world_size() == 1:
        return local
    flag = torch.tensor([1.0 if local else 0.0], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item() > 0)
