"""The student's current weights as a checkpoint folder a vLLM server can reload from.

A server in another process cannot take tensors from this one (they do not survive
vLLM's RPC), so on the CPU path the weights travel as a safetensors file in a folder
both can read, and the server's `reload_weights` reads it. Names are the checkpoint's;
a LoRA student is merged for the write (`vllm_sync.current_weights`).
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

from gkd_schema.runner.clients.vllm_server import VllmServer
from gkd_schema.runner.generation.vllm_sync import current_weights

WEIGHTS_FILE = "model.safetensors"


def write_weights(model: Any, folder: Path) -> Path:
    """Write `model`'s current weights to `folder/model.safetensors` (replacing the last sync's)."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, Any] = {}
    seen: set[int] = set()
    with torch.no_grad(), current_weights(model) as weights:
        for name, tensor in weights:
            # safetensors refuses tensors that share memory; a tied head is written twice.
            key = tensor.data_ptr()
            tensors[name] = tensor.detach().clone() if key in seen else tensor.detach().contiguous()
            seen.add(key)
        partial = folder / (WEIGHTS_FILE + ".partial")
        save_file({n: t.cpu() for n, t in tensors.items()}, str(partial))
    # Renamed whole, so the server never reads a half-written file.
    return partial.replace(folder / WEIGHTS_FILE)


class CheckpointHandover:
    """`weight_sync: checkpoint`: writes a model's weights to `folder` and has the server reload them.

    Args:
        server: The server's client.
        folder: Where the weights are written for the server to read; a temporary folder
            on this machine when None (removed with the handover).
    """

    def __init__(self, server: VllmServer, folder: Path | None = None) -> None:
        self.server = server
        self.folder = folder or Path(tempfile.mkdtemp(prefix="gkd-vllm-weights-"))
        if folder is None:  # the temporary copy of the weights goes when the handover does
            weakref.finalize(self, shutil.rmtree, self.folder, ignore_errors=True)

    def __call__(self, model: Any) -> None:
        write_weights(model, self.folder)
        self.server.reload_weights(str(self.folder))
