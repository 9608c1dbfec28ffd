"""Handing the student's weights to a vLLM server through vLLM's weight-transfer engine.

`generation.vllm.weight_sync: nccl` or `gloo`: instead of a checkpoint the server reads
from this machine's disk, the tensors are broadcast from the trainer to the server's
workers in a process group of their own (the trainer is rank 0 and hosts its store at
`weight_sync_host`; workers follow). vLLM's trainer engine drives the round trip over
the server's routes (`/start_weight_update`, `/update_weights`, `/finish_weight_update`)
through gkd's client, so its timeouts and messages apply. NCCL is vLLM's own backend
(CUDA on both sides); gloo is gkd's (`gloo_transfer.py`, CPUs). The group is opened at
the first sync and kept for the run.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

from gkd_schema.runner.clients.vllm_server import ServerError, VllmServer
from gkd_schema.runner.generation.route import address_towards
from gkd_schema.runner.generation.vllm_plugin import register
from gkd_schema.runner.generation.vllm_sync import current_weights


def _pairs_source() -> Any:
    """vLLM's `WeightSource` over the pairs of the current sync (set as `.pairs`; metadata and iteration agree)."""
    from vllm.distributed.weight_transfer.base import ParamMeta, WeightSource

    class PairsSource(WeightSource):  # type: ignore[misc, unused-ignore]  # vLLM is untyped where it is absent
        def __init__(self) -> None:
            self.pairs: list[tuple[str, Any]] = []

        def metadata(self) -> list[Any]:
            return [ParamMeta(name, tensor.dtype, tuple(tensor.shape)) for name, tensor in self.pairs]

        def __iter__(self) -> Iterator[tuple[str, Any]]:
            return iter(self.pairs)

    return PairsSource()


class TransferHandover:
    """Sends a model's weights to the server's workers by broadcast; opens the group at the first call.

    Args:
        server: The server's client (its routes carry the handshake).
        backend: `nccl` or `gloo`; the server must have been started with the same
            (`--weight-transfer-config '{"backend": "nccl"}'`, or `gkd_gloo` for gloo).
        host: The address the server's workers reach this process at; None: this
            machine's address on the route to the server (found at the first sync).
        port: The store's port; None: a free one.
    """

    def __init__(self, server: VllmServer, backend: str, host: str | None = None, port: int | None = None) -> None:
        self.server = server
        self.backend = backend
        self.host = host
        self.port = port
        self._source: Any = None
        self._engine: Any = None

    def _connect(self) -> Any:
        from vllm.distributed.weight_transfer.factory import WeightTransferTrainerFactory

        self._source = _pairs_source()
        host = self.host or address_towards(self.server.url, ipv4=self.backend == "nccl")
        if self.backend == "nccl" and ":" in host:
            raise RuntimeError(
                f"`weight_sync: nccl` needs an IPv4 address for its rendezvous (vLLM's listens on IPv4 only), "
                f"not {host}; set `generation.vllm.weight_sync_host` to one, or use `weight_sync: gloo`"
            )
        world_size = 1 + self.server.world_size()
        if self.backend == "gloo":
            register()
            from gkd_schema.runner.generation.gloo_transfer import GlooTrainerInitInfo

            info: Any = GlooTrainerInitInfo(
                master_address=host, master_port=self.port or 0, world_size=world_size, rank=0,
                timeout_s=self.server.request_timeout_s,
            )
        else:
            from vllm.distributed.weight_transfer.nccl_engine import NCCLTrainerInitInfo

            info = NCCLTrainerInitInfo(
                master_address=host, master_port=self.port or _free_port(), world_size=world_size, rank=0
            )
        return WeightTransferTrainerFactory.trainer_init(info, client=self.server, source=self._source)

    def __call__(self, model: Any) -> None:
        import torch

        if self._engine is None:
            self._engine = self._connect()
        with torch.no_grad(), current_weights(model) as pairs:
            self._source.pairs = pairs
            try:
                self._engine.send_weights()
            finally:
                self._source.pairs = []

    def close(self) -> None:
        """Leave the group and have the server release its side (it keeps serving)."""
        if self._engine is None:
            return
        engine, self._engine = self._engine, None
        # Cleanup after the run's outcome is decided (a broken NCCL communicator may refuse to
        # go): it must not replace the run's own error, and a server's next handshake replaces
        # the old group anyway.
        with suppress(Exception):
            engine.shutdown()
        with suppress(ServerError):
            self.server.shutdown_weight_transfer_engine()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("", 0))
        port: int = probe.getsockname()[1]
    return port

