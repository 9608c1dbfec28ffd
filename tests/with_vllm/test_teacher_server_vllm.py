"""`teacher.backend: server` against a real vLLM CPU server: the same top K as the local teacher, a run, the errors.

One server for the module (started once: ~25 s idle); the test that kills it is last.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tiny_models
import torch
from runs import assert_stops_cleanly, gkd, llama_models, write_config
from server import RunningServer, free_port, stop, vllm_server
from transformers import AutoModelForCausalLM

from gkd_schema.runner.clients.vllm_server import VllmServer
from gkd_schema.runner.loss.jsd_plan import shift_labels
from gkd_schema.runner.loss.topk_teacher import teacher_top_k_from_logits
from gkd_schema.runner.teacher.server_topk import ServerTeacher

K = 8


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return llama_models(tmp_path_factory.mktemp("teacher-server"))


@pytest.fixture(scope="module")
def served(models: tuple[Path, Path]) -> Iterator[RunningServer]:
    teacher = models[0]
    # Scoring `max_length` (64) tokens asks for one more: 65 at least.
    with vllm_server(teacher, teacher.parent / "teacher-server.log", max_model_len=80, dev_mode=False) as running:
        yield running


def _config(tmp_path: Path, models: tuple[Path, Path], url: str, teacher: Path | None = None, **keys: Any) -> Path:
    sections = {
        "teacher": {"backend": "server", "server_url": url, "top_k": keys.pop("top_k", K), "request_timeout_s": 60},
        "gkd": {"loss_implementation": "fused", "lmbda": keys.pop("lmbda", 0.5)},
    }
    cfg = write_config(tmp_path / "cfg.yaml", teacher=teacher or models[0], student=models[1],
                       generation={"backend": "transformers"}, sections=sections, **keys)
    text = cfg.read_text().replace("  teacher_model_init_kwargs:\n    dtype: float32\n", "")
    cfg.write_text(text)
    return cfg


def test_the_servers_top_k_is_the_local_teachers(served: RunningServer, models: tuple[Path, Path]) -> None:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(10, 60, (3, 20), generator=g)
    mask = torch.ones_like(ids)
    mask[0, :5] = 0  # left padding
    labels = ids.clone()
    labels[:, :8] = -100
    server = VllmServer(served.url, request_timeout_s=120)
    teacher = ServerTeacher(server, server.models()[0].id, K)
    answer = teacher.wait(teacher.submit(ids, mask, labels))
    model = AutoModelForCausalLM.from_pretrained(str(models[0]), dtype=torch.float32).eval()
    scored = shift_labels(labels) != -100
    with torch.no_grad():
        rows = [model(input_ids=ids[b : b + 1, mask[b].bool()]).logits for b in range(3)]
    local_ids, local_lp = [], []
    for b, logits in enumerate(rows):
        padded = torch.full((1, 20, logits.shape[-1]), 0.0)
        padded[0, mask[b].bool()] = logits[0]
        local = teacher_top_k_from_logits(padded, shift_labels(labels)[b : b + 1], K)
        local_ids.append(local.token_ids[0][scored[b]])
        local_lp.append(local.logprobs[0][scored[b]])
    assert torch.equal(answer.token_ids[scored], torch.cat(local_ids))
    torch.testing.assert_close(answer.logprobs[scored], torch.cat(local_lp), atol=1e-4, rtol=0)


def test_ten_steps_train_against_the_teacher_server(
    served: RunningServer, models: tuple[Path, Path], tmp_path: Path
) -> None:
    done = gkd("run", str(_config(tmp_path, models, served.url)), cwd=tmp_path, threads=1)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert f"served at {served.url}; its top {K} log-probs per token, prefetch on" in done.stdout
    summary = done.stdout.split("gkd run: finished", 1)[1]
    assert "teacher    server: " in summary and "the loss waited" in summary


def _deep(tmp_path: Path, cfg: Path) -> subprocess.CompletedProcess[str]:
    return gkd("validate", str(cfg), "--deep", cwd=tmp_path)


def test_deep_validation_passes_against_the_server(
    served: RunningServer, models: tuple[Path, Path], tmp_path: Path
) -> None:
    done = _deep(tmp_path, _config(tmp_path, models, served.url))
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_k_above_the_servers_cap_is_an_error_with_the_fix(
    served: RunningServer, models: tuple[Path, Path], tmp_path: Path
) -> None:
    done = _deep(tmp_path, _config(tmp_path, models, served.url, top_k=21))
    assert done.returncode == 1 and "teacher.top_k" in done.stdout, done.stdout
    assert "returns at most 20" in done.stdout and "--max-logprobs 21" in done.stdout


def test_a_server_serving_another_model_is_an_error(
    served: RunningServer, models: tuple[Path, Path], tmp_path: Path
) -> None:
    done = _deep(tmp_path, _config(tmp_path, models, served.url, teacher=models[1]))
    assert done.returncode == 1, done.stdout
    assert "not the teacher" in done.stdout and f"--served-model-name {models[1]}" in done.stdout


def test_a_server_with_another_tokenizer_is_an_error(
    served: RunningServer, models: tuple[Path, Path], tmp_path: Path
) -> None:
    words = tiny_models.build_vocab_merges_tokenizer(tmp_path / "words")
    done = _deep(tmp_path, _config(tmp_path, models, served.url, tokenizer=words))
    assert done.returncode == 1 and "the server's tokenizer splits" in done.stdout, done.stdout
    assert "teacher.server_url" in done.stdout


def test_a_server_that_is_down_is_an_error(models: tuple[Path, Path], tmp_path: Path) -> None:
    done = _deep(tmp_path, _config(tmp_path, models, f"http://127.0.0.1:{free_port()}"))
    assert done.returncode == 1 and "cannot be reached" in done.stdout and "teacher.server_url" in done.stdout


def test_a_teacher_server_that_dies_mid_run_stops_the_run_with_its_checkpoints_whole(
    served: RunningServer, models: tuple[Path, Path], tmp_path: Path
) -> None:
    # Last in the module: it stops the module's server.
    cfg = _config(tmp_path, models, served.url, max_steps=400, save_steps=2)
    checkpoint = tmp_path / "out" / "checkpoint-2"
    err = assert_stops_cleanly(cfg, tmp_path, checkpoint, lambda: stop(served.process))
    assert "teacher.server_url" in err, err[-3000:]
