"""`gkd run` with `generation.backend: vllm`, as a user runs it: the real CLI, a real engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tiny_models
from ruamel.yaml import YAML

LLAMA = {"architecture": "llama", "num_layers": 2}


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("vllm-run")
    teacher = tiny_models.build_model(root / "teacher", hidden_size=128, num_heads=4, num_kv_heads=2, seed=1, **LLAMA)
    student = tiny_models.build_model(root / "student", hidden_size=64, num_heads=2, num_kv_heads=1, seed=2, **LLAMA)
    data = tiny_models.write_messages_jsonl(root / "train.jsonl", rows=16)
    config = {
        "model": {"name_or_path": str(student), "dtype": "float32"},
        "gkd": {
            "teacher_model_name_or_path": str(teacher),
            "teacher_model_init_kwargs": {"dtype": "float32"},
            "lmbda": 1.0,
            "max_new_tokens": 8,
        },
        "data": {"train": {"path": str(data)}},
        "generation": {"backend": "vllm"},
        "training": {
            "output_dir": str(root / "out"),
            "max_steps": 10,
            "per_device_train_batch_size": 4,
            "learning_rate": 1e-3,
            "logging_steps": 5,
            "save_steps": 10,
            "max_length": 64,
            "seed": 0,
            "report_to": ["none"],
        },
    }
    path = root / "cfg.yaml"
    with path.open("w") as fh:
        YAML().dump(config, fh)
    return path


def _gkd(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GKD_")}
    env["GKD_TRAINING__CPU_THREADS"] = "2"
    return subprocess.run(
        [str(Path(sys.executable).parent / "gkd"), *args], capture_output=True, text=True, cwd=cwd, env=env,
        timeout=600,
    )


def test_ten_on_policy_steps_generate_with_vllm_and_report_it(config_path: Path) -> None:
    done = _gkd("run", str(config_path), cwd=config_path.parent)
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
    done = _gkd("validate", str(config_path), "--deep", cwd=config_path.parent)
    assert done.returncode == 0, done.stdout + done.stderr
