"""The quickstart with the three lines that switch generation to vLLM, from the repository root."""

from __future__ import annotations

import json
from pathlib import Path

from runs import gkd

REPO = Path(__file__).resolve().parents[2]


def test_the_quickstart_distils_with_vllm_generating(tmp_path: Path) -> None:
    run_dir = tmp_path / "quickstart"
    sets = {
        "generation.backend": "vllm",
        "training.output_dir": str(run_dir),
        "training.max_steps": "150",
        "training.eval_steps": "150",
        "training.save_steps": "150",
        "gkd.lmbda": "1.0",  # every batch sampled by the engine
    }
    args = [arg for key, value in sets.items() for arg in ("--set", f"{key}={value}")]
    done = gkd("run", "examples/quickstart/config.yaml", *args, cwd=REPO)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert "generation vllm:" in done.stdout and "(150 syncs)" in done.stdout
    scores = json.loads((run_dir / "gkd_eval.json").read_text())
    before, after = scores["before"]["models"][1], scores["after"]["models"][1]
    # 150 steps are a tenth of the quickstart: the student moves towards the teacher.
    assert after["own"]["reverse_kl"] < 0.75 * before["own"]["reverse_kl"], (before, after)
