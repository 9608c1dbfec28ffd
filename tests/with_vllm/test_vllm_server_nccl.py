"""`weight_sync: nccl` on CUDA: vLLM's NCCL engine gives a GPU server the student's new weights.

Needs two CUDA GPUs (NCCL refuses a group with two ranks on one GPU: the student trains
on GPU 0, the server runs on GPU 1) and vLLM's CUDA build (`gpu` and `vllm` markers;
skipped elsewhere, so CI's CPU machines skip it). The server answers through the same kernels either way, so
what it samples after the NCCL broadcast is compared with what it samples after a
checkpoint reload of the same weights (token-exact), and with what it sampled before
the step (different).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import tiny_models
import torch
from server import vllm_server
from test_vllm_generation import STUDENT, _batch, _greedy, _load, _optimizer_step

from gkd_schema.runner.clients.vllm_server import VllmServer
from gkd_schema.runner.generation.vllm_server_backend import VllmServerBackend
from gkd_schema.runner.generation.weight_transfer import TransferHandover
from gkd_schema.runner.generation.weights_file import CheckpointHandover

pytestmark = pytest.mark.gpu

NCCL_TRANSFER = ("--weight-transfer-config", '{"backend": "nccl"}', "--gpu-memory-utilization", "0.2")


def test_after_an_nccl_broadcast_a_gpu_server_samples_as_after_a_reload_of_the_same_weights(tmp_path: Path) -> None:
    if torch.cuda.device_count() < 2:
        pytest.skip("needs two CUDA GPUs: NCCL puts the student and the server on different ones")
    student_dir = tiny_models.build_model(tmp_path / "student", seed=3, **STUDENT)
    model, tokenizer = _load(student_dir)
    model = model.to("cuda:0")
    inputs = {k: v.to("cuda:0") for k, v in _batch(tokenizer).items()}
    config = _greedy(tokenizer, tokenizer.eos_token_id)
    server_gpu = {"CUDA_VISIBLE_DEVICES": "1"}
    with vllm_server(student_dir, tmp_path / "server.log", extra=NCCL_TRANSFER, env=server_gpu) as served:
        server = VllmServer(served.url, request_timeout_s=120)
        name = server.models()[0].id
        nccl = VllmServerBackend(server, name, lambda m: m, TransferHandover(server, "nccl"))
        before = nccl.generate(model, inputs, config, weights_version=0)
        _optimizer_step(model, inputs)
        broadcast = nccl.generate(model, inputs, config, weights_version=1)
        nccl.close()
        reload = VllmServerBackend(server, name, lambda m: m, CheckpointHandover(server, tmp_path / "weights"))
        reloaded = reload.generate(model, inputs, config, weights_version=1)
    assert not torch.equal(broadcast[0], before[0]), "the step did not change greedy completions"
    for got, want in zip(broadcast, reloaded, strict=True):
        assert torch.equal(got.cpu(), want.cpu())
