"""The hang reporter the multi-process tests use: a hung grandchild's stack reaches the failure."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from process_tree import processes, run_bounded

# A parent that starts a child in a session of its own (as torch.distributed.run starts
# ranks) and waits for it; the child sleeps in a function whose name the stack shows.
_HANG = """
import subprocess, sys
child = "import time\\ndef waiting_for_the_barrier():\\n    time.sleep(600)\\nwaiting_for_the_barrier()"
subprocess.Popen([sys.executable, "-c", child], start_new_session=True).wait()
"""


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="lists processes through /proc")
def test_a_hung_grandchild_is_reported_with_its_stack_and_killed(tmp_path: Path) -> None:
    with pytest.raises(AssertionError) as failure:
        run_bounded([sys.executable, "-c", _HANG], timeout=3, env=dict(os.environ), cwd=tmp_path)
    message = str(failure.value)
    assert "ran past 3 s (still running)" in message
    assert "waiting_for_the_barrier" in message  # the grandchild's own frame, from faulthandler
    pids = [int(line.split()[0]) for line in message.split("processes below it:\n")[1].split("\n---")[0].splitlines()
            if line.startswith("  ")]
    alive = {pid for pid, process in processes().items() if process.state != "Z"}
    assert pids and not alive.intersection(pids)


def test_a_command_that_ends_gives_its_output(tmp_path: Path) -> None:
    done = run_bounded([sys.executable, "-c", "print('out'); import sys; sys.exit(3)"], timeout=30,
                       env=dict(os.environ), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (3, "out\n")
