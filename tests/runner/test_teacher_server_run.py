"""`gkd run` with `teacher.backend: server`, against the transformers-backed stub server (named as such).

The same runs against a real vLLM server are in `tests/with_vllm/test_teacher_server_vllm.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from process_tree import run_bounded
from teacher_server_stub import StubSettings, teacher_server_stub

pytestmark = pytest.mark.slow

K = 6


def _config(write_config: Any, tmp_path: Path, url: str, **training: Any) -> Path:
    return write_config(
        tmp_path,
        teacher={"backend": "server", "server_url": url, "top_k": K, "request_timeout_s": 30},
        gkd={"loss_implementation": "chunked", "teacher_model_init_kwargs": None, "lmbda": 0.5},
        training={"max_steps": 6, "gradient_accumulation_steps": 2, "save_steps": 3, **training},
    )


def _gkd(cfg: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "gkd_schema.runner", "run", str(cfg), *args]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GKD_")}
    return {**env, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def _run(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_bounded(_gkd(cfg, *args), cwd=cfg.parent, env=_env(), timeout=300)


def _losses(out: Path) -> list[float]:
    state = json.loads((out / "trainer_state.json").read_text())
    return [entry["loss"] for entry in state["log_history"] if "loss" in entry]


def _scoring(settings: StubSettings) -> list[dict[str, Any]]:
    return [r for r in settings.requests if r["path"] == "/v1/completions"]


@pytest.fixture(scope="module")
def served_runs(tiny_teacher_dir: Path, write_config: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The same run with prefetching on and off, each against its own stub server."""
    runs = {}
    for prefetch in (True, False):
        tmp = tmp_path_factory.mktemp(f"prefetch-{prefetch}")
        with teacher_server_stub(tiny_teacher_dir) as stub:
            cfg = _config(write_config, tmp, stub.url)
            done = _run(cfg, "--set", f"teacher.prefetch={str(prefetch).lower()}")
            runs[prefetch] = (done, stub.url, stub.settings, tmp / "out")
    return runs


@pytest.fixture(scope="module")
def write_config(tiny_teacher_dir: Path, tiny_student_dir: Path, messages_jsonl: Path) -> Any:
    """`write_config(tmp_path, teacher=..., gkd=..., training=...)`: a tiny run against a served teacher."""
    from ruamel.yaml import YAML

    def write(tmp_path: Path, *, teacher: dict[str, Any], gkd: dict[str, Any], training: dict[str, Any]) -> Path:
        cfg = {
            "model": {"name_or_path": str(tiny_student_dir), "dtype": "float32"},
            "gkd": {"teacher_model_name_or_path": str(tiny_teacher_dir), "beta": 0.5, "max_new_tokens": 8,
                    **{k: v for k, v in gkd.items() if v is not None}},
            "teacher": teacher,
            "data": {"train": {"path": str(messages_jsonl)}},
            "training": {"output_dir": str(tmp_path / "out"), "per_device_train_batch_size": 2,
                         "learning_rate": 1e-3, "logging_steps": 1, "max_length": 64, "seed": 0,
                         "report_to": ["none"], **training},
        }
        path = tmp_path / "cfg.yaml"
        with path.open("w") as fh:
            YAML(typ="safe", pure=True).dump(cfg, fh)
        return path

    return write


def test_a_run_trains_against_the_served_teacher(served_runs: Any) -> None:
    done, url, settings, out = served_runs[True]
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert f"teacher    {Path(out).parent}" not in done.stdout
    assert f"served at {url}; its top {K} log-probs per token, prefetch on" in done.stdout
    summary = done.stdout.split("gkd run: finished", 1)[1]
    assert "teacher    server: " in summary and "the loss waited" in summary
    scoring = [r for r in _scoring(settings) if len(r["prompt"]) > 1]  # the preflight probe sends one prompt
    # 6 steps x 2 micro-batches, each sent once (plus what was drawn ahead of the end).
    assert 12 <= len(scoring) <= 14
    assert all(r["prompt_logprobs"] == K and r["max_tokens"] == 1 and r["temperature"] == 1.0 for r in scoring)
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 6


def test_prefetching_changes_when_the_teacher_is_asked_not_what_is_trained(served_runs: Any) -> None:
    (on, *_, out_on), (off, _, off_settings, out_off) = served_runs[True], served_runs[False]
    assert on.returncode == 0 and off.returncode == 0, (off.stdout + off.stderr)[-4000:]
    assert "prefetch off" in off.stdout
    assert len([r for r in _scoring(off_settings) if len(r["prompt"]) > 1]) == 12  # exactly one per micro-batch
    assert _losses(out_on) == _losses(out_off) and len(_losses(out_on)) == 6


def test_a_teacher_server_that_dies_mid_run_stops_cleanly_and_the_run_resumes(
    tiny_teacher_dir: Path, write_config: Any, tmp_path: Path
) -> None:
    with teacher_server_stub(tiny_teacher_dir, StubSettings(delay_s=0.3)) as stub:
        cfg = _config(write_config, tmp_path, stub.url, max_steps=12)
        run = subprocess.Popen(_gkd(cfg), cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        checkpoint = tmp_path / "out" / "checkpoint-3"
        deadline = time.monotonic() + 240
        while not (checkpoint / "trainer_state.json").exists():
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.1)
    out, err = run.communicate(timeout=240)
    assert run.returncode == 1, out + err
    assert "training failed at step" in err and "cannot be reached" in err and "`teacher.server_url`" in err, err
    assert "checkpoint-3 is complete; continue with `training.resume: auto`" in err
    assert "Traceback" not in err
    with teacher_server_stub(tiny_teacher_dir) as again:
        done = _run(cfg, "--set", "training.resume=auto", "--set", f"teacher.server_url={again.url}")
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert "resume from checkpoint-" in done.stdout
    assert json.loads((tmp_path / "out" / "trainer_state.json").read_text())["global_step"] == 12


def test_two_processes_each_ask_the_server_for_their_own_batches(
    tiny_teacher_dir: Path, write_config: Any, tmp_path: Path
) -> None:
    with teacher_server_stub(tiny_teacher_dir) as stub:
        cfg = _config(write_config, tmp_path, stub.url, max_steps=3, gradient_accumulation_steps=1,
                      per_device_train_batch_size=1)
        done = _run(cfg, "--num-processes", "2")
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert "x 2 process(es)" in done.stdout
    scoring = [r for r in _scoring(stub.settings) if len(r["prompt"]) == 1 and len(r["prompt"][0]) > 8]
    # One request stream per rank: 3 steps x 1 micro-batch x 2 ranks (plus what was drawn ahead).
    assert 6 <= len(scoring) <= 8
