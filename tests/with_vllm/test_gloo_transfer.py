"""gkd's gloo weight-transfer engine, the trainer's side, without a server: chunks and a refusing worker."""

from __future__ import annotations

import time
from typing import Any

import pytest
import torch

from gkd_schema.runner.clients.vllm_server import ServerError
from gkd_schema.runner.generation.weight_transfer import _pairs_source


@pytest.fixture
def gloo_transfer() -> Any:
    """The module (it imports vLLM, which the main environment lacks: the tests are skipped there)."""
    from gkd_schema.runner.generation import gloo_transfer

    return gloo_transfer


def test_the_chunk_plan_keeps_one_dtype_per_chunk_and_the_size_bound(
    gloo_transfer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gloo_transfer, "CHUNK_BYTES", 100)
    plan = gloo_transfer.chunk_plan([("float32", 40), ("float32", 40), ("float32", 40), ("bfloat16", 10),
                                     ("float32", 200), ("float32", 4)])
    assert plan == [[0, 1], [2], [3], [4], [5]]


class _Group:
    def __init__(self) -> None:
        self.sent: list[int] = []

    def broadcast(self, tensors: list[Any], options: Any) -> Any:
        time.sleep(0.05)  # a broadcast takes time; the worker's refusal arrives meanwhile
        self.sent.append(tensors[0].numel())
        return self

    def wait(self) -> None:
        pass


class _RefusingServer:
    finished = False

    def start_weight_update(self) -> None:
        pass

    def update_weights(self, update_info: Any) -> None:
        raise ServerError("refused", "the vLLM server answered /update_weights with HTTP 500")

    def finish_weight_update(self) -> None:
        self.finished = True


def test_a_worker_that_gives_up_stops_the_broadcast_at_the_next_chunk(
    gloo_transfer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gloo_transfer, "CHUNK_BYTES", 64)
    source = _pairs_source()
    source.pairs = [(f"layer.{i}.weight", torch.ones(16)) for i in range(10)]  # 10 chunks of 64 bytes
    server = _RefusingServer()
    engine = gloo_transfer.GlooTrainerWeightTransferEngine(client=server, source=source, packed=False)
    engine.model_update_group = group = _Group()
    with pytest.raises(ServerError, match="HTTP 500"):
        engine.send_weights()
    assert len(group.sent) <= 2 and not server.finished
