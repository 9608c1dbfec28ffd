"""`generation.vllm.mode: server` on a real vLLM server: weights reloaded or broadcast, token-exact completions."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tiny_models
import torch
from runs import gkd, write_config
from server import GLOO_TRANSFER, RunningServer, vllm_server
from test_vllm_generation import (
    STUDENT,
    _assert_same,
    _batch,
    _greedy,
    _load,
    _optimizer_step,
    _transformers,
    lora_student,
)

from gkd_schema.runner.clients.vllm_server import VllmServer
from gkd_schema.runner.generation.vllm_server_backend import VllmServerBackend
from gkd_schema.runner.generation.weight_transfer import TransferHandover
from gkd_schema.runner.generation.weights_file import CheckpointHandover


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_models.build_model(tmp_path_factory.mktemp("served") / "student", seed=3, **STUDENT)


@pytest.fixture(scope="module")
def served(student_dir: Path) -> Iterator[RunningServer]:
    # Both handovers on one server: it reloads checkpoints and takes gkd's gloo transfer.
    with vllm_server(student_dir, student_dir.parent / "server.log", extra=GLOO_TRANSFER) as running:
        yield running


def _backend(served: RunningServer, tmp_path: Path, weight_sync: str) -> VllmServerBackend:
    server = VllmServer(served.url, request_timeout_s=120)
    if weight_sync == "checkpoint":
        handover: Any = CheckpointHandover(server, tmp_path / "weights")
    else:
        handover = TransferHandover(server, weight_sync)
    return VllmServerBackend(server, server.models()[0].id, lambda m: m, handover)


@pytest.mark.parametrize("weight_sync", ["checkpoint", "gloo"])
def test_after_an_update_the_server_answers_with_the_new_weights(
    served: RunningServer, student_dir: Path, tmp_path: Path, weight_sync: str
) -> None:
    model, tokenizer = _load(student_dir)
    inputs = _batch(tokenizer)
    config = _greedy(tokenizer, tokenizer.eos_token_id)
    backend = _backend(served, tmp_path, weight_sync)
    before = backend.generate(model, inputs, config, weights_version=0)
    _assert_same(before, _transformers(model, inputs, config))

    _optimizer_step(model, inputs)
    after = backend.generate(model, inputs, config, weights_version=1)
    want = _transformers(model, inputs, config)
    assert not torch.equal(want[0], before[0]), "the step did not change greedy completions"
    _assert_same(after, want)
    assert backend.stats.syncs == 2 and backend.stats.sync_seconds > 0
    backend.close()


def test_a_lora_student_reaches_the_server_merged_by_broadcast(
    served: RunningServer, student_dir: Path, tmp_path: Path
) -> None:
    model, tokenizer = _load(student_dir)
    peft_model = lora_student(model)
    inputs, config = _batch(tokenizer), _greedy(tokenizer, tokenizer.eos_token_id)
    backend = _backend(served, tmp_path, "gloo")
    got = backend.generate(peft_model, inputs, config, weights_version=0)
    backend.close()
    _assert_same(got, _transformers(peft_model, inputs, config))
    base, _ = _load(student_dir)
    assert not torch.equal(got[0], _transformers(base, inputs, config)[0])
    assert not peft_model.base_model.model.model.layers[0].self_attn.q_proj.merged  # trains unmerged


def _validate(tmp_path: Path, url: str, student: Path, **keys: Any) -> Any:
    keys.setdefault("generation", _server_mode(url))
    cfg = write_config(tmp_path / "cfg.yaml", teacher=student, student=student, **keys)
    return gkd("validate", str(cfg), "--deep", cwd=tmp_path)


def _server_mode(url: str, **vllm: Any) -> dict[str, Any]:
    return {"backend": "vllm", "vllm": {"mode": "server", "server_url": url, **vllm}}


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
    gloo = _validate(tmp_path, served.url, student_dir, generation=_server_mode(served.url, weight_sync="gloo"))
    assert gloo.returncode == 0, gloo.stdout + gloo.stderr
    nccl = _validate(tmp_path, served.url, student_dir, generation=_server_mode(served.url, weight_sync="nccl"))
    assert nccl.returncode == 1, nccl.stdout
    assert "started with the `gkd_gloo` weight-transfer engine" in nccl.stdout, nccl.stdout
    assert """'{"backend": "nccl"}'""" in nccl.stdout
    words = tiny_models.build_vocab_merges_tokenizer(tmp_path / "words")
    other_tokens = _validate(tmp_path, served.url, student_dir, tokenizer=words)
    assert "the server's tokenizer splits" in other_tokens.stdout, other_tokens.stdout
