"""Run a command that starts processes of its own; if it hangs, say where each one is.

`torch.distributed.run` starts every rank in a session of its own, so a plain
`subprocess.run(timeout=...)` kills only the top process and reports nothing about
the ranks. Here, on timeout, every Python process below the command gets SIGABRT,
which (with `PYTHONFAULTHANDLER=1`, set for the command) prints the stack of each of
its threads to stderr before it dies; the failure then shows those stacks and the
process tree, which is what a hang seen only in CI needs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

_PROC = Path("/proc")


class Process(NamedTuple):
    """One process as `/proc` shows it."""

    ppid: int
    state: str  # `Z`: exited, not yet reaped
    cmdline: str


def processes() -> dict[int, Process]:
    """Every process we can see, by pid (this one included)."""
    table: dict[int, Process] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, IndexError):  # exited while we looked
            continue
        table[int(entry.name)] = Process(int(stat[1]), stat[0], cmdline)
    return table


def descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every process below `pid`, parents before children."""
    table = processes()
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop(0)
        children = sorted(p for p, process in table.items() if process.ppid == parent)
        found += [(p, table[p].cmdline) for p in children]
        frontier += children
    return found


def _signal_all(pids: Sequence[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # exited meanwhile
            os.kill(pid, sig)


def run_bounded(
    cmd: Sequence[str], *, timeout: float, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """`subprocess.run(cmd, capture_output=True, text=True)`, with every process's stacks on a hang.

    Raises:
        AssertionError: The command (or a process it left holding its output) ran past
            `timeout`; the message holds the process tree and the stacks.
    """
    proc = subprocess.Popen(
        list(cmd), cwd=cwd, env={**env, "PYTHONFAULTHANDLER": "1"}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        tree = descendants(proc.pid)
        exited = proc.poll()
        listing = "\n".join(f"  {pid} {line[:200]!r}" for pid, line in tree)
        python = [pid for pid, line in tree if "python" in line]
        _signal_all([*python, proc.pid], signal.SIGABRT)
        time.sleep(3)
        _signal_all([pid for pid, _ in tree] + [proc.pid], signal.SIGKILL)
        out, err = proc.communicate()
        state = "still running" if exited is None else f"exited with {exited}, its output still held open"
        raise AssertionError(
            f"{' '.join(cmd)} ran past {timeout:g} s ({state}); processes below it:\n{listing}\n"
            f"--- stdout (tail)\n{out[-6000:]}\n--- stderr with every thread's stack (tail)\n{err[-20000:]}"
        ) from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
