"""Ctrl-C during a two-process (gloo) `gkd run`: both ranks stop at one step, save, exit 130.

The run is started the way a user starts it, then interrupted the way a terminal
does it: SIGINT to the whole foreground process group. The next `gkd run` with
`training.resume: auto` must continue from the checkpoint the interrupt saved.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from process_tree import processes

# Steps take ~10-30 ms here: enough of them that a slow poll cannot miss the run.
MAX_STEPS = 200
# Generous: two processes share two cores with whatever else the machine runs.
START_DEADLINE_S = 120.0
STOP_DEADLINE_S = 120.0


def _pids_running(needle: str) -> list[int]:
    """Live processes whose command line mentions `needle` (the test's unique config path).

    The launcher starts each rank in a session of its own, so the test's process group
    does not reach them; the command line is how to find them.
    """
    return [pid for pid, process in processes().items()
            if pid != os.getpid() and needle in process.cmdline and process.state != "Z"]


def _wait_for(
    condition: Callable[[], bool], deadline_s: float, proc: subprocess.Popen[str] | None = None
) -> bool:
    """Poll `condition` until it holds, `proc` (if given) exits, or the deadline passes."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if condition():
            return True
        if proc is not None and proc.poll() is not None:
            return condition()
        time.sleep(0.1)
    return condition()


def _decisions(out: Path, rank: int) -> list[dict[str, Any]]:
    path = out / "on_policy_decisions" / f"rank{rank}.jsonl"
    if not path.is_file():
        return []
    # A line may be half-written while the rank runs; only whole lines count.
    return [json.loads(line) for line in path.read_text().splitlines(keepends=True) if line.endswith("\n")]


def _kill_everything(proc: subprocess.Popen[str], needle: str) -> None:
    """Leave nothing running, whatever the test's outcome."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    for pid in _pids_running(needle):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=30)


LINUX_PROC = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="uses /proc")
# A child that reports each SIGINT on stdout, and says when it is ready for them.
SIGINT_REPORTER = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGINT, lambda *_: print('SIGINT', flush=True))\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


@LINUX_PROC
def test_launcher_passes_each_ctrl_c_once_to_children_in_their_own_session() -> None:
    from gkd_schema.runner.launch.relaunch import InterruptRelay

    def start(new_session: bool) -> subprocess.Popen[str]:
        child = subprocess.Popen(
            [sys.executable, "-c", SIGINT_REPORTER], stdout=subprocess.PIPE, text=True,
            start_new_session=new_session,
        )
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        return child

    # Like torch.distributed.run's ranks: a session each, out of the terminal's reach.
    rank = start(new_session=True)
    # Like accelerate's single-process launch: the terminal reached it already.
    same_group = start(new_session=False)
    relay = InterruptRelay()
    try:
        assert rank.stdout is not None
        for _ in range(2):  # one at a time: two pending SIGINTs would merge into one
            relay(signal.SIGINT, None)
            assert rank.stdout.readline() == "SIGINT\n"
    finally:
        for child in (rank, same_group):
            child.kill()
    assert same_group.communicate(timeout=30)[0] == ""
    assert relay.seen == 2


@LINUX_PROC
def test_launcher_stops_launching_on_ctrl_c_before_any_rank_started() -> None:
    # In a fresh process: pytest's own may have children.
    code = (
        "import signal\n"
        "from gkd_schema.runner.launch.relaunch import InterruptRelay\n"
        "try:\n"
        "    InterruptRelay()(signal.SIGINT, None)\n"
        "except KeyboardInterrupt:\n"
        "    raise SystemExit(130)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 130


@pytest.mark.slow
@LINUX_PROC
def test_ctrl_c_stops_both_ranks_on_one_step_and_resume_continues(
    write_config: Any, tmp_path: Path
) -> None:
    from safetensors.torch import load_file

    cfg = write_config(
        tmp_path,
        training={
            "max_steps": MAX_STEPS,
            "per_device_train_batch_size": 1,
            "save_steps": 10 * MAX_STEPS,  # the only checkpoint is the one Ctrl-C saves
            "logging_steps": 50,
            "resume": "auto",
        },
        gkd={"lmbda": 0.5},
    )
    out = tmp_path / "out"
    # A launcher that gives the ranks a deadline to stop (torch.distributed.run: 30 s,
    # then SIGKILL) would cut a real model's checkpoint off; a deadline of 0 makes it
    # cut off the tiny one too, so this test catches it.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "TORCH_ELASTIC_SHUTDOWN_TIMEOUT": "0"}
    cmd = [sys.executable, "-m", "gkd_schema.runner", "run", str(cfg), "--num-processes", "2"]
    needle = str(cfg)

    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )
    try:
        # Both ranks have finished a step: training is under way on each of them.
        started = _wait_for(lambda: all(_decisions(out, r) for r in (0, 1)), START_DEADLINE_S, proc)
        ranks_before = _pids_running(needle)
        assert started and proc.poll() is None, "training did not start"
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
        output, _ = proc.communicate(timeout=STOP_DEADLINE_S)
    finally:
        _kill_everything(proc, needle)
    assert proc.returncode == 130, output[-4000:]
    assert len(ranks_before) >= 4  # gkd, accelerate's launcher, two ranks
    assert _wait_for(lambda: not _pids_running(needle), 10), "a rank outlived the launcher"

    # Exactly one checkpoint, complete, and no final model (the run did not finish).
    checkpoints = sorted(p.name for p in out.iterdir() if p.name.startswith(("checkpoint", "tmp")))
    assert len(checkpoints) == 1, checkpoints
    ckpt = out / checkpoints[0]
    stopped_at = json.loads((ckpt / "trainer_state.json").read_text())["global_step"]
    assert checkpoints == [f"checkpoint-{stopped_at}"] and 0 < stopped_at < MAX_STEPS
    for name in ("model.safetensors", "config.json", "optimizer.pt", "scheduler.pt",
                 "rng_state_0.pth", "rng_state_1.pth"):
        assert (ckpt / name).is_file(), name
    assert load_file(str(ckpt / "model.safetensors"))  # a cut-off file does not parse
    assert not (out / "model.safetensors").exists()
    # Both ranks ran the same steps and stopped on the same one.
    logs = [_decisions(out, r) for r in (0, 1)]
    assert logs[0] == logs[1] and [d["step"] for d in logs[0]] == list(range(stopped_at))
    assert "Ctrl-C: stopping after this step" in output
    assert "run the same command again" in output  # `training.resume` is already `auto`

    resumed = subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        start_new_session=True,
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert f"resume from checkpoint-{stopped_at}" in resumed.stdout
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == MAX_STEPS
    # The resumed run trained steps stopped_at.. only: no step ran twice, none was skipped.
    logs = [_decisions(out, r) for r in (0, 1)]
    assert logs[0] == logs[1] and [d["step"] for d in logs[0]] == list(range(MAX_STEPS))
