"""On-policy completions from a vLLM server (`generation.vllm.mode: server`).

The server runs in its own process (on its own GPU, or the same CPU). After every
optimizer step the student's weights are written as a checkpoint to a folder the
server can read and reloaded there (`/collective_rpc` `reload_weights`, then
`/reset_prefix_cache`): the same path on CPU and CUDA. Prompts go as token ids and the
ids the server returns are trained on, exactly as with the colocated engine.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gkd_schema.runner.clients.vllm_server import VllmServer
from gkd_schema.runner.generation.backend import GenerationStats, count_completion_tokens
from gkd_schema.runner.generation.completions import completion_batch, prompt_token_lists
from gkd_schema.runner.generation.sampling import sampling_settings
from gkd_schema.runner.generation.weights_file import write_weights


class VllmServerBackend:
    """Samples with a vLLM server that reloads the student's weights after every optimizer step.

    Args:
        server: The server's client.
        model_name: The name the server serves the student under (`/v1/models`).
        unwrap_model: Returns the bare model from what the trainer holds.
        sync_dir: Where the weights are written for the server to read; a temporary
            folder on this machine when None (removed with the backend).
    """

    name = "vllm-server"

    def __init__(
        self,
        server: VllmServer,
        model_name: str,
        unwrap_model: Callable[[Any], Any],
        sync_dir: Path | None = None,
    ) -> None:
        self.server = server
        self.model_name = model_name
        self._unwrap = unwrap_model
        self.sync_dir = sync_dir or Path(tempfile.mkdtemp(prefix="gkd-vllm-weights-"))
        if sync_dir is None:  # the temporary copy of the weights goes when the backend does
            weakref.finalize(self, shutil.rmtree, self.sync_dir, ignore_errors=True)
        self._synced_version: int | None = None
        self.stats = GenerationStats()

    def sync(self, model: Any) -> None:
        """Write `model`'s weights and have the server reload them."""
        started = time.perf_counter()
        write_weights(self._unwrap(model), self.sync_dir)
        self.server.reload_weights(str(self.sync_dir))
        self.server.reset_prefix_cache()
        self.stats.sync_seconds += time.perf_counter() - started
        self.stats.syncs += 1

    def generate(
        self, model: Any, inputs: dict[str, Any], generation_config: Any, *, weights_version: int
    ) -> tuple[Any, Any, Any]:
        """Sync if the weights changed since the last sync, then one completion per prompt."""
        if weights_version != self._synced_version:
            self.sync(model)
            self._synced_version = weights_version
        started = time.perf_counter()
        prompts, prompt_mask = inputs["prompts"], inputs["prompt_attention_mask"]
        completions = self.server.complete(
            self.model_name, prompt_token_lists(prompts, prompt_mask), sampling_settings(generation_config)
        )
        ids, mask, labels = completion_batch(
            prompts,
            prompt_mask,
            completions,
            pad_token_id=generation_config.pad_token_id,
            eos_token_id=generation_config.eos_token_id,
        )
        self.stats.generate_seconds += time.perf_counter() - started
        self.stats.generations += 1
        self.stats.completion_tokens += count_completion_tokens(mask, prompts.shape[1])
        return ids, mask, labels
