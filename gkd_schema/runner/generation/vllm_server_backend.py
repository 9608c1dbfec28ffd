"""On-policy completions from a vLLM server (`generation.vllm.mode: server`).

The server runs in its own process (on its own GPU, or the same CPU). After every
optimizer step the student's weights are written as a checkpoint to a folder the
server can read and reloaded there (`/collective_rpc` `reload_weights`, then
`/reset_prefix_cache`): the same path on CPU and CUDA. Prompts go as token ids and the
ids the server returns are trained on, exactly as with the colocated engine.

With several training processes every rank holds the same (unsharded) weights after a
step, so the main process alone writes and reloads them; every rank then waits for the
reload before it sends its own prompts (on-policy decisions are the same on every rank,
so all of them reach each sync together). The wait is a broadcast of how the reload
went: when it fails, every rank stops with the main process's reason instead of
waiting for a launcher to kill it.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gkd_schema.runner.clients.vllm_server import VllmServer
from gkd_schema.runner.generation.sampling import sampling_settings
from gkd_schema.runner.generation.synced import SyncedBackend
from gkd_schema.runner.generation.weights_file import write_weights


class VllmServerBackend(SyncedBackend):
    """Samples with a vLLM server that reloads the student's weights after every optimizer step.

    Args:
        server: The server's client.
        model_name: The name the server serves the student under (`/v1/models`).
        unwrap_model: Returns the bare model from what the trainer holds.
        sync_dir: Where the weights are written for the server to read; a temporary
            folder on this machine when None (removed with the backend).
        main_process: Whether this process writes and reloads the weights (the main one).
        share_from_main: Sends the main process's value to every training process and
            returns it there (a barrier too); None with one process.
    """

    name = "vllm-server"

    def __init__(
        self,
        server: VllmServer,
        model_name: str,
        unwrap_model: Callable[[Any], Any],
        sync_dir: Path | None = None,
        *,
        main_process: bool = True,
        share_from_main: Callable[[str | None], str | None] | None = None,
    ) -> None:
        super().__init__()
        self.main_process = main_process
        self._share = share_from_main
        self.server = server
        self.model_name = model_name
        self._unwrap = unwrap_model
        self.sync_dir = sync_dir or Path(tempfile.mkdtemp(prefix="gkd-vllm-weights-"))
        if sync_dir is None:  # the temporary copy of the weights goes when the backend does
            weakref.finalize(self, shutil.rmtree, self.sync_dir, ignore_errors=True)

    def _push(self, model: Any) -> None:
        if self.main_process:
            try:
                write_weights(self._unwrap(model), self.sync_dir)
                self.server.reload_weights(str(self.sync_dir))
                self.server.reset_prefix_cache()
            except Exception as exc:
                if self._share is not None:
                    self._share(f"{type(exc).__name__}: {exc}")
                raise
        # No rank samples before the server has the new weights.
        if self._share is not None and (failure := self._share(None)) is not None:
            raise RuntimeError(f"the main process could not give the vLLM server the new weights: {failure}")

    def _sample(self, prompts: list[list[int]], generation_config: Any) -> list[list[int]]:
        return self.server.complete(self.model_name, prompts, sampling_settings(generation_config))
