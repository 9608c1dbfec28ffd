"""`gkd run` in server mode, as a user runs it: a real server, the real CLI, and the server dying mid-run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runs import assert_stops_cleanly, gkd, llama_models, write_config
from server import GLOO_TRANSFER, RunningServer, stop, vllm_server


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return llama_models(tmp_path_factory.mktemp("server-run"))


@pytest.fixture(scope="module")
def served(models: tuple[Path, Path]) -> Iterator[RunningServer]:
    with vllm_server(models[1], models[1].parent / "server.log", extra=GLOO_TRANSFER) as running:
        yield running


def _config(
    tmp_path: Path, models: tuple[Path, Path], url: str, weight_sync: str = "checkpoint", **training: Any
) -> Path:
    vllm = {"mode": "server", "server_url": url, "request_timeout_s": 60, "weight_sync": weight_sync}
    generation = {"backend": "vllm", "vllm": vllm}
    return write_config(tmp_path / "cfg.yaml", teacher=models[0], student=models[1], generation=generation, **training)


def test_ten_on_policy_steps_generate_on_the_server(
    served: RunningServer, models: tuple[Path, Path], tmp_path: Path
) -> None:
    done = gkd("run", str(_config(tmp_path, models, served.url)), cwd=tmp_path, threads=1)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert f"generation vLLM server at {served.url}; weights reloaded there" in done.stdout
    summary = done.stdout.split("gkd run: finished", 1)[1]
    assert "on-policy  10 of 10 micro-batches" in summary
    assert "generation vllm-server:" in summary and "(10 syncs)" in summary


def test_two_training_processes_share_the_server_which_gets_the_weights_by_broadcast(
    served: RunningServer, models: tuple[Path, Path], tmp_path: Path
) -> None:
    # Rank 0 broadcasts the weights to the server's worker after each step (gloo, no file),
    # then sends both ranks' prompts in one request and hands each rank its completions.
    cfg = _config(tmp_path, models, served.url, "gloo", max_steps=4, per_device_train_batch_size=2, save_steps=4)
    done = gkd("run", str(cfg), "--num-processes", "2", cwd=tmp_path, threads=1)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert "x 2 process(es)" in done.stdout
    assert "weights broadcast to it (gloo) after every optimizer step" in done.stdout
    summary = done.stdout.split("gkd run: finished", 1)[1]
    assert "on-policy  4 of 4 micro-batches" in summary and "(4 syncs)" in summary
    decisions = [
        (tmp_path / "out" / "on_policy_decisions" / f"rank{r}.jsonl").read_text().splitlines() for r in (0, 1)
    ]
    assert decisions[0] == decisions[1] and len(decisions[0]) == 4


def test_a_server_that_dies_mid_run_stops_the_run_with_its_checkpoints_whole(
    served: RunningServer, models: tuple[Path, Path], tmp_path: Path
) -> None:
    # Last in the module: it stops the module's server.
    cfg = _config(tmp_path, models, served.url, max_steps=400, save_steps=2)
    checkpoint = tmp_path / "out" / "checkpoint-2"
    assert_stops_cleanly(cfg, tmp_path, checkpoint, lambda: stop(served.process))
