"""The end of a multi-process run: every rank leaves together, then closes its process groups.

Without the barrier a rank that finishes first (the main one still runs the
end-of-run hooks) tears down its gloo/NCCL connections under the others, which abort.
Closing is bounded: `destroy_process_group` now and then never returns
(pytorch/pytorch#75097), and by then the model, its state and its card are saved,
so a rank that cannot close says so and exits with the run's exit code instead of
holding the launcher, and whoever waits on it, forever.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any

# Closing takes milliseconds; a minute is a hang, not a slow machine.
CLOSE_TIMEOUT_S = 60.0


def _close_groups() -> None:
    from gkd_schema.runner.generation.vllm_engine import close_process_groups

    close_process_groups()


def leave_together(
    state: Any, code: int, *, close: Callable[[], None] = _close_groups, timeout_s: float = CLOSE_TIMEOUT_S
) -> int:
    """Wait for every rank, close the process groups within `timeout_s`, and return `code`.

    Args:
        state: accelerate's `PartialState`.
        code: The run's exit code, also the process's if closing hangs.
        close: What closes the groups (vLLM's, then the training world's).
        timeout_s: How long closing may take.

    Raises:
        Exception: What closing raised.
    """
    if state.num_processes <= 1:
        return code
    state.wait_for_everyone()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            close()
        except BaseException as exc:  # handed to the main thread, which raises it
            failed.append(exc)

    closer = threading.Thread(target=run, name="gkd-close-groups", daemon=True)
    closer.start()
    closer.join(timeout_s)
    if closer.is_alive():
        print(
            f"warning: process {state.process_index}: closing the process group did not finish within "
            f"{timeout_s:g} s (a known torch hang, pytorch/pytorch#75097); everything is saved, so this "
            "process exits without waiting for it",
            file=sys.stderr,
        )
        sys.stdout.flush()
        sys.stderr.flush()
        # A normal exit would wait on the stuck thread's C++ state; nothing is left to save.
        os._exit(code)
    if failed:
        raise failed[0]
    return code
