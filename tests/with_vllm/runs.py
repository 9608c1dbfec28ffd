"""Configs and `gkd` commands for the vLLM tests, run as a user runs them: the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tiny_models
from process_tree import run_bounded
from ruamel.yaml import YAML

LLAMA = {"architecture": "llama", "num_layers": 2}


def llama_models(root: Path) -> tuple[Path, Path]:
    """A teacher (hidden 128) and a student (hidden 64), both with heads 32 wide, one vocabulary."""
    teacher = tiny_models.build_model(root / "teacher", hidden_size=128, num_heads=4, num_kv_heads=2, seed=1, **LLAMA)
    student = tiny_models.build_model(root / "student", hidden_size=64, num_heads=2, num_kv_heads=1, seed=2, **LLAMA)
    return teacher, student


def write_config(
    path: Path,
    *,
    teacher: Path,
    student: Path,
    generation: dict[str, Any],
    tokenizer: Path | None = None,
    sections: dict[str, dict[str, Any]] | None = None,
    **training: Any,
) -> Path:
    """A 10-step, fully on-policy run config of the tiny models at `path`.

    `sections` updates (or adds) whole sections key by key: `{"teacher": {...}, "gkd": {...}}`.
    """
    data = tiny_models.write_messages_jsonl(path.parent / "train.jsonl", rows=16)
    config = {
        "model": {
            "name_or_path": str(student),
            "dtype": "float32",
            **({"tokenizer_name_or_path": str(tokenizer)} if tokenizer else {}),
        },
        "gkd": {
            "teacher_model_name_or_path": str(teacher),
            "teacher_model_init_kwargs": {"dtype": "float32"},
            "lmbda": 1.0,
            "max_new_tokens": 8,
        },
        "data": {"train": {"path": str(data)}},
        "generation": generation,
        "training": {
            "output_dir": str(path.parent / "out"),
            "max_steps": 10,
            "per_device_train_batch_size": 4,
            "learning_rate": 1e-3,
            "logging_steps": 5,
            "save_steps": 10,
            "max_length": 64,
            "seed": 0,
            "report_to": ["none"],
            **training,
        },
    }
    for name, keys in (sections or {}).items():
        config[name] = {**config.get(name, {}), **keys}
    with path.open("w") as fh:
        YAML().dump(config, fh)
    return path


def gkd_command(*args: str, threads: int = 2) -> list[str]:
    """The `gkd` command of this environment, with the run's CPU threads set (as an argument)."""
    return [str(Path(sys.executable).parent / "gkd"), *args, "--set", f"training.cpu_threads={threads}"]


def gkd(*args: str, cwd: Path, threads: int = 2) -> subprocess.CompletedProcess[str]:
    """Run `gkd` as a user would, without the caller's `GKD_*` overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GKD_")}
    return run_bounded(gkd_command(*args, threads=threads), cwd=cwd, env=env, timeout=600)


def stop_mid_run(cfg: Path, cwd: Path, checkpoint: Path, stop: Callable[[], None]) -> tuple[int, str, str]:
    """Start `gkd run cfg`, call `stop` once `checkpoint` is complete, and let the run end.

    Returns:
        The run's exit code, stdout and stderr.
    """
    run = subprocess.Popen(gkd_command("run", str(cfg), threads=1), cwd=cwd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not (checkpoint / "trainer_state.json").exists():
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.2)
    stop()
    out, err = run.communicate(timeout=300)
    return run.returncode, out, err


def assert_stops_cleanly(cfg: Path, cwd: Path, checkpoint: Path, stop: Callable[[], None]) -> str:
    """`stop_mid_run`, then what a run whose server died must show: exit 1, the reason, a whole checkpoint.

    Returns:
        The run's stderr, for the caller's own assertions.
    """
    code, out, err = stop_mid_run(cfg, cwd, checkpoint, stop)
    assert code == 1, out + err
    assert "training failed at step" in err and "cannot be reached" in err, err[-3000:]
    assert "is complete; continue with `training.resume: auto`" in err
    assert (checkpoint / "trainer_state.json").is_file()
    return err
