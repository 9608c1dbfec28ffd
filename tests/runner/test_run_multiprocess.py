"""Two CPU processes (gloo) through `gkd run --num-processes 2` agree on every on-policy decision."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from process_tree import run_bounded

pytestmark = pytest.mark.slow


def test_two_processes_finish_with_identical_decisions(write_config: Any, tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        training={"max_steps": 3, "per_device_train_batch_size": 1, "save_steps": 3},
        gkd={"lmbda": 0.5},
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = run_bounded(
        [sys.executable, "-m", "gkd_schema.runner", "run", str(cfg), "--num-processes", "2"],
        cwd=tmp_path, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = tmp_path / "out"
    logs = [
        [json.loads(line) for line in (out / "on_policy_decisions" / f"rank{r}.jsonl").read_text().splitlines()]
        for r in (0, 1)
    ]
    assert logs[0] == logs[1] and [d["step"] for d in logs[0]] == [0, 1, 2]
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 3
    # Effective batch counts both processes; the banner is printed once.
    assert proc.stdout.count("gkd run: finished") == 1
    assert "2 per device" not in proc.stdout and "x 2 process(es)" in proc.stdout
