"""`generation.vllm.mode: server` against a real vLLM server: weights reloaded, completions token-exact."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tiny_models
import torch
from runs import gkd, write_config
from server import RunningServer, vllm_server
from test_vllm_generation import STUDENT, _assert_same, _batch, _greedy, _load, _optimizer_step, _transformers

from gkd_schema.runner.clients.vllm_server import VllmServer
from gkd_schema.runner.generation.vllm_server_backend import VllmServerBackend


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_models.build_model(tmp_path_factory.mktemp("served") / "student", seed=3, **STUDENT)


@pytest.fixture(scope="module")
def served(student_dir: Path) -> Iterator[RunningServer]:
    with vllm_server(student_dir, student_dir.parent / "server.log") as running:
        yield running


def _backend(served: RunningServer, tmp_path: Path) -> VllmServerBackend:
    server = VllmServer(served.url, request_timeout_s=120)
    return VllmServerBackend(server, server.models()[0].id, lambda m: m, sync_dir=tmp_path / "weights")


def test_after_an_update_the_server_answers_with_the_new_weights(
    served: RunningServer, student_dir: Path, tmp_path: Path
) -> None:
    model, tokenizer = _load(student_dir)
    inputs = _batch(tokenizer)
    config = _greedy(tokenizer, tokenizer.eos_token_id)
    backend = _backend(served, tmp_path)
    before = backend.generate(model, inputs, config, weights_version=0)
    _assert_same(before, _transformers(model, inputs, config))

    _optimizer_step(model, inputs)
    after = backend.generate(model, inputs, config, weights_version=1)
    want = _transformers(model, inputs, config)
    assert not torch.equal(want[0], before[0]), "the step did not change greedy completions"
    _assert_same(after, want)
    assert backend.stats.syncs == 2 and backend.stats.sync_seconds > 0


def _validate(tmp_path: Path, url: str, student: Path, **keys: Any) -> Any:
    cfg = write_config(
        tmp_path / "cfg.yaml", teacher=student, student=student, generation=_server_mode(url), **keys
    )
    return gkd("validate", str(cfg), "--deep", cwd=tmp_path)


def _server_mode(url: str) -> dict[str, Any]:
    return {"backend": "vllm", "vllm": {"mode": "server", "server_url": url}}


def test_deep_validation_checks_what_the_server_serves(
    served: RunningServer, student_dir: Path, tmp_path: Path
) -> None:
    same = _validate(tmp_path, served.url, student_dir)
    assert same.returncode == 0, same.stdout + same.stderr
    elsewhere = tmp_path / "copy-of-student"
    shutil.copytree(student_dir, elsewhere)
    other = _validate(tmp_path, served.url, elsewhere)
    assert other.returncode == 1 and "serves" in other.stdout and "not the student" in other.stdout, other.stdout
    assert f"--served-model-name {elsewhere}" in other.stdout
    longer = _validate(tmp_path, served.url, student_dir, max_length=128)
    assert longer.returncode == 1 and "--max-model-len 128" in longer.stdout, longer.stdout
    words = tiny_models.build_vocab_merges_tokenizer(tmp_path / "words")
    other_tokens = _validate(tmp_path, served.url, student_dir, tokenizer=words)
    assert "the server's tokenizer splits" in other_tokens.stdout, other_tokens.stdout
