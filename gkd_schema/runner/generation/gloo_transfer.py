"""vLLM's weight-transfer protocol over gloo: the student's tensors reach a CPU server by TCP.

vLLM's server takes new weights through a weight-transfer engine
(`--weight-transfer-config`, the `/init_weight_transfer_engine`, `/start_weight_update`,
`/update_weights` and `/finish_weight_update` routes): its `nccl` backend broadcasts
GPU to GPU and needs CUDA on both sides. This module registers `gkd_gloo`, the same
engine pair with gloo as the wire, so a CPU server gets the weights without reading
the trainer's files (another machine works too) and CI exercises the protocol gkd
drives on GPUs. The handshake and the round trip are vLLM's own (the classes extend
its NCCL engines); only the process group and the broadcast differ.

The server finds the engine through vLLM's plugin entry point (`vllm.general_plugins`
in gkd's pyproject.toml, `vllm_plugin.py`), so gkd must be installed where the server runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any, ClassVar

import torch
from torch.distributed import (  # type: ignore[attr-defined]  # torch's stubs leave the stores out
    BroadcastOptions,
    PrefixStore,
    ProcessGroupGloo,
    TCPStore,
)
from vllm.distributed.weight_transfer.base import WeightSource
from vllm.distributed.weight_transfer.nccl_common import NCCLWeightTransferInitInfo, worker_init_payload
from vllm.distributed.weight_transfer.nccl_engine import (
    NCCLTrainerInitInfo,
    NCCLTrainerWeightTransferEngine,
    NCCLWeightTransferEngine,
    NCCLWeightTransferUpdateInfo,
)
from vllm.model_executor.model_loader.mtp_validation import disable_mtp_completeness_check

from gkd_schema.runner.generation.route import address_towards
from gkd_schema.runner.generation.vllm_plugin import GLOO_BACKEND

CHUNK_BYTES = 64 << 20  # one broadcast carries up to this much (gloo's cost is per call)
_STORE_PREFIX = "gkd-weight-transfer"


def _store(host: str, port: int, world_size: int, timeout: timedelta, *, host_it: bool) -> Any:
    return TCPStore(host, port, world_size, is_master=host_it, timeout=timeout, wait_for_workers=False)


def _group(store: Any, rank: int, world_size: int, timeout: timedelta, address: str) -> Any:
    """The trainer-and-workers gloo group over `store`, outside torch.distributed's world (blocks until complete).

    Gloo's default device is the address this machine's hostname resolves to, which on
    many hosts is a loopback one (127.0.1.1) that a peer elsewhere cannot reach; each end
    names the address it is reached at instead.
    """
    options = ProcessGroupGloo._Options()  # type: ignore[attr-defined]
    options._devices = [ProcessGroupGloo.create_device(hostname=address)]
    options._timeout = timeout
    return ProcessGroupGloo(PrefixStore(_STORE_PREFIX, store), rank, world_size, options)


def chunk_plan(meta: list[tuple[str, int]]) -> list[list[int]]:
    """Indices of `(dtype name, bytes)` entries grouped into consecutive same-dtype chunks.

    Both ends compute it from the same metadata, so they cut the stream alike.
    """
    chunks: list[list[int]] = []
    size = 0
    for index, (dtype, nbytes) in enumerate(meta):
        if chunks and meta[chunks[-1][0]][0] == dtype and size + nbytes <= CHUNK_BYTES:
            chunks[-1].append(index)
            size += nbytes
        else:
            chunks.append([index])
            size = nbytes
    return chunks


def _start(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """`work()` on a daemon thread (it never holds the interpreter's exit); its result or exception in the list."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as exc:  # handed to the caller, in its thread
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _raise_failure(outcome: list[Any]) -> None:
    if outcome and isinstance(outcome[0], Exception):
        raise outcome[0]


def _broadcast(group: Any, tensor: torch.Tensor) -> None:
    options = BroadcastOptions()
    options.rootRank = 0
    group.broadcast([tensor], options).wait()


@dataclass(kw_only=True)
class GlooWeightTransferInitInfo(NCCLWeightTransferInitInfo):  # type: ignore[misc, unused-ignore]  # vLLM's classes are untyped
    """The worker's rendezvous: the trainer's store address, the worker ranks' offset, the group size."""

    timeout_s: float = 600.0


class GlooWeightTransferEngine(NCCLWeightTransferEngine):  # type: ignore[misc, unused-ignore]  # vLLM's classes are untyped
    """The server worker's side: receives every tensor by gloo broadcast and loads it."""

    init_info_cls = GlooWeightTransferInitInfo  # type: ignore[assignment, unused-ignore]
    update_info_cls = NCCLWeightTransferUpdateInfo
    model_update_group: Any

    def init_transfer_engine(self, init_info: Any) -> None:
        parallel = self.parallel_config
        rank = parallel.data_parallel_index * parallel.world_size + parallel.rank + init_info.rank_offset
        assert init_info.master_address is not None and init_info.master_port is not None
        timeout = timedelta(seconds=init_info.timeout_s)
        store = _store(init_info.master_address, init_info.master_port, init_info.world_size, timeout, host_it=False)
        here = address_towards(f"tcp://{init_info.master_address}")
        self.model_update_group = _group(store, rank, init_info.world_size, timeout, here)

    def receive_weights(self, update_info: NCCLWeightTransferUpdateInfo) -> None:
        if self.model_update_group is None:
            raise RuntimeError("gloo weight transfer not initialized: call init_weight_transfer_engine first")
        dtypes = [getattr(torch, name) for name in update_info.dtype_names]
        sizes = [torch.Size(shape).numel() for shape in update_info.shapes]
        plan = chunk_plan([(n, s * d.itemsize) for n, s, d in zip(update_info.dtype_names, sizes, dtypes, strict=True)])
        with disable_mtp_completeness_check():  # as vLLM's own receive: a chunk is not the whole model
            for chunk in plan:
                buffer = torch.empty(sum(sizes[i] for i in chunk), dtype=dtypes[chunk[0]])
                _broadcast(self.model_update_group, buffer)
                pieces = torch.split(buffer, [sizes[i] for i in chunk])
                self.model.load_weights(  # type: ignore[operator, unused-ignore]
                    [(update_info.names[i], p.view(update_info.shapes[i])) for i, p in zip(chunk, pieces, strict=True)]
                )

    def shutdown(self) -> None:
        self.model_update_group = None


@dataclass
class GlooTrainerInitInfo(NCCLTrainerInitInfo):  # type: ignore[misc, unused-ignore]  # vLLM's classes are untyped
    """The trainer's side of the rendezvous; it hosts the store (`master_port` 0: any free port)."""

    backend: ClassVar[str] = GLOO_BACKEND
    timeout_s: float = 600.0


class GlooTrainerWeightTransferEngine(NCCLTrainerWeightTransferEngine):  # type: ignore[misc, unused-ignore]  # vLLM's classes are untyped
    """The trainer's side: opens the group with the workers, then vLLM's round trip sends the weights."""

    init_info_cls = GlooTrainerInitInfo  # type: ignore[assignment, unused-ignore]
    model_update_group: Any

    @classmethod
    def trainer_init(cls, init_info: Any, *, client: Any, source: WeightSource | None = None) -> Any:
        if source is None:
            raise ValueError("gloo weight transfer needs a WeightSource")
        engine = cls(client=client, source=source, is_sender=True, packed=False)
        timeout = timedelta(seconds=init_info.timeout_s)
        # Hosting the store first gives the port to tell the workers (no race for a free one).
        store = _store(init_info.master_address, init_info.master_port, init_info.world_size, timeout, host_it=True)
        workers = GlooWeightTransferInitInfo(
            master_address=init_info.master_address, master_port=store.port, rank_offset=1,
            world_size=init_info.world_size, timeout_s=init_info.timeout_s,
        )
        # The group completes when every worker has joined, inside the server's init call: the
        # trainer joins beside it, so a server that refuses the init fails here at once.
        joining, joined = _start(lambda: _group(store, 0, init_info.world_size, timeout, init_info.master_address))
        client.init_weight_transfer_engine(worker_init_payload(workers))
        joining.join(init_info.timeout_s)
        if not joined:
            raise RuntimeError(f"the server's workers did not join the weight-transfer group within "
                               f"{init_info.timeout_s:g} s")
        _raise_failure(joined)
        engine.model_update_group = joined[0]
        return engine

    def send_weights(self) -> None:
        """vLLM's round trip (start, the workers' receive beside the broadcast, finish), watched.

        vLLM's own waits for the receive on an executor thread that the interpreter joins
        at exit, and keeps broadcasting after the workers have given up; here a failure on
        the server's side stops the broadcast at the next chunk and never holds the exit.
        """
        source = self.source
        assert source is not None  # `trainer_init` refuses to build without one
        meta = source.metadata()
        update = NCCLWeightTransferUpdateInfo(
            names=[m.name for m in meta],
            dtype_names=[str(m.dtype).removeprefix("torch.") for m in meta],
            shapes=[list(m.shape) for m in meta],
        )
        self.client.start_weight_update()
        receiving, received = _start(lambda: self.client.update_weights(asdict(update)))
        tensors = [tensor for _, tensor in self._checked_iter(source, meta)]
        for chunk in chunk_plan([(name, t.numel() * t.element_size()) for name, t in zip(
            update.dtype_names, tensors, strict=True
        )]):
            _raise_failure(received)
            _broadcast(self.model_update_group, torch.cat([tensors[i].detach().reshape(-1).cpu() for i in chunk]))
        receiving.join()
        _raise_failure(received)
        self.client.finish_weight_update()

    def shutdown(self) -> None:
        self.model_update_group = None

