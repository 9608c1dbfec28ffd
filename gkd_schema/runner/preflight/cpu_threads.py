"""How many threads a CPU run computes with: the cores this process may really use.

torch starts one OpenMP thread per core it sees. On a shared machine that is too many:
threads that wait for a core another process holds stall every parallel region, and
step time collapses (measured in benchmarks/cpu_threads.py). gkd counts the cores
this process may run on (affinity, the cgroup's CPU quota), subtracts those other
processes keep busy (sampled from /proc/stat for a quarter of a second, this process
left out), and splits the rest among the run's processes. `training.cpu_threads` or
an `OMP_NUM_THREADS` set by the user overrides the choice.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

_SAMPLE_S = 0.25


@dataclass(frozen=True)
class ThreadChoice:
    """The thread count and, for the banner, why."""

    threads: int
    reason: str


def usable_cores() -> int:
    """Cores this process may run on: its affinity, capped by a cgroup v2 CPU quota."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.floor(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def _jiffies() -> tuple[int, int, int]:
    """(busy, total) jiffies of the whole machine, and this process's own."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    own = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return sum(fields) - idle, sum(fields), int(own[11]) + int(own[12])  # utime + stime


def busy_cores(sample_s: float = _SAMPLE_S) -> float | None:
    """How many cores other processes keep busy right now; None where /proc is missing."""
    try:
        busy0, total0, own0 = _jiffies()
        time.sleep(sample_s)
        busy1, total1, own1 = _jiffies()
    except (OSError, ValueError, IndexError):
        return None
    elapsed = total1 - total0
    if elapsed <= 0:
        return None
    machine = os.cpu_count() or 1
    return max(0.0, (busy1 - busy0 - (own1 - own0)) / elapsed * machine)


def choose_threads(configured: int | None, processes: int = 1) -> ThreadChoice:
    """The thread count of each process of a CPU run.

    Args:
        configured: `training.cpu_threads` (None: choose).
        processes: Processes of the run on this machine (each gets its share).
    """
    if configured is not None:
        return ThreadChoice(configured, "training.cpu_threads")
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        return ThreadChoice(max(1, int(os.environ["OMP_NUM_THREADS"])), "OMP_NUM_THREADS")
    usable = usable_cores()
    # Sibling ranks would count as other work; a multi-process run splits the cores.
    busy = busy_cores() if processes == 1 else None
    free = usable if busy is None else max(1, math.floor(usable - busy + 0.5))
    threads = max(1, free // max(1, processes))
    taken = "" if busy is None else f", {busy:.1f} busy with other work"
    share = f", split among {processes} processes" if processes > 1 else ""
    return ThreadChoice(threads, f"{usable} usable cores{taken}{share}; set training.cpu_threads to override")
