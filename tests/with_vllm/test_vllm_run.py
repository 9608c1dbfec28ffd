"""`gkd run` with `generation.backend: vllm`, as a user runs it: the real CLI, a real engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from runs import gkd, llama_models, write_config


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("vllm-run")
    teacher, student = llama_models(root)
    return write_config(root / "cfg.yaml", teacher=teacher, student=student, generation={"backend": "vllm"})


def test_ten_on_policy_steps_generate_with_vllm_and_report_it(config_path: Path) -> None:
    done = gkd("run", str(config_path), cwd=config_path.parent)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    assert "generation vLLM, colocated in the training process" in done.stdout
    assert "gkd run: finished" in done.stdout
    summary = done.stdout.split("gkd run: finished", 1)[1]
    assert "on-policy  10 of 10 micro-batches" in summary
    assert "generation vllm:" in summary and "tokens/s" in summary and "(10 syncs)" in summary
    decisions = (config_path.parent / "out" / "on_policy_decisions" / "rank0.jsonl").read_text().splitlines()
    assert [json.loads(line)["on_policy"] for line in decisions] == [True] * 10
    assert (config_path.parent / "out" / "model.safetensors").is_file()


def test_deep_validation_passes_where_vllm_is_installed(config_path: Path) -> None:
    done = gkd("validate", str(config_path), "--deep", cwd=config_path.parent)
    assert done.returncode == 0, done.stdout + done.stderr


def test_two_training_processes_each_generate_with_their_own_engine(tmp_path: Path) -> None:
    # Each rank's engine joins the launcher's process group (vLLM's external launcher) and
    # takes the rank's own weights at every sync; the run must also leave without vLLM's
    # teardown tracing back over a process group already destroyed.
    teacher, student = llama_models(tmp_path)
    cfg = write_config(tmp_path / "cfg.yaml", teacher=teacher, student=student, generation={"backend": "vllm"},
                       max_steps=4, per_device_train_batch_size=2, save_steps=4)
    done = gkd("run", str(cfg), "--num-processes", "2", cwd=tmp_path, threads=1)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    assert "Traceback" not in out, out[-4000:]
    assert "x 2 process(es)" in done.stdout
    summary = done.stdout.split("gkd run: finished", 1)[1]
    assert "on-policy  4 of 4 micro-batches" in summary and "(4 syncs)" in summary
    decisions = [(tmp_path / "out" / "on_policy_decisions" / f"rank{r}.jsonl").read_text().splitlines() for r in (0, 1)]
    assert decisions[0] == decisions[1] and len(decisions[0]) == 4
