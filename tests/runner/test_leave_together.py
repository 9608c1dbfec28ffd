"""The end of a multi-process run never hangs on closing the process group."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

from gkd_schema.runner.train.leave_together import leave_together

# A rank whose group never closes: it must exit with the run's code, saying why.
_STUCK = """
import sys, threading
from types import SimpleNamespace
from gkd_schema.runner.train.leave_together import leave_together
state = SimpleNamespace(num_processes=2, process_index=1, wait_for_everyone=lambda: None)
print("saved", flush=False)  # buffered: it must still come out
leave_together(state, 7, close=threading.Event().wait, timeout_s=0.5)
print("returned")
"""


def _state(processes: int, barriers: list[str]) -> SimpleNamespace:
    return SimpleNamespace(num_processes=processes, process_index=0, wait_for_everyone=lambda: barriers.append("b"))


def test_a_group_that_never_closes_ends_the_process_with_the_runs_code() -> None:
    done = subprocess.run([sys.executable, "-c", _STUCK], capture_output=True, text=True, timeout=60)
    assert done.returncode == 7, done.stderr
    assert done.stdout == "saved\n"
    assert "process 1: closing the process group did not finish within 0.5 s" in done.stderr
    assert "pytorch/pytorch#75097" in done.stderr and "Traceback" not in done.stderr


def test_every_rank_waits_for_the_others_before_closing() -> None:
    events: list[str] = []
    code = leave_together(_state(2, events), 130, close=lambda: events.append("closed"))
    assert (code, events) == (130, ["b", "closed"])


def test_one_process_neither_waits_nor_closes() -> None:
    events: list[str] = []
    assert leave_together(_state(1, events), 0, close=lambda: events.append("closed")) == 0
    assert events == []


def test_what_closing_raises_reaches_the_caller() -> None:
    def close() -> None:
        raise RuntimeError("the world is gone")

    with pytest.raises(RuntimeError, match="the world is gone"):
        leave_together(_state(2, []), 0, close=close)
