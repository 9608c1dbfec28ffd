"""On-policy completions from a vLLM server (`generation.vllm.mode: server`).

The server runs in its own process (on its own GPU, or the same CPU). After every
optimizer step the student's weights are handed over (`generation.vllm.weight_sync`):
as a checkpoint in a folder the server can read and reloads (`weights_file.py`), or
broadcast to its workers by vLLM's weight-transfer engine (`weight_transfer.py`);
then the server's prefix cache is emptied. Prompts go as token ids and the ids the
server returns are trained on, exactly as with the colocated engine.

With several training processes only the main process talks to the server. Every rank
holds the same (unsharded) weights after a step, so the main process alone hands them
over; for completions every rank's prompts are gathered there, sent as one request
(the server batches them), and each rank gets its own back. On-policy decisions are
the same on every rank, so all of them reach each sync and each generation together.
What the main process shares is the outcome too: when a handover or a request fails,
every rank stops with the main process's reason instead of waiting at a collective
for a launcher to kill it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from gkd_schema.runner.clients.vllm_server import VllmServer
from gkd_schema.runner.generation.sampling import sampling_settings
from gkd_schema.runner.generation.synced import SyncedBackend
from gkd_schema.runner.generation.weights_file import CheckpointHandover


class Ranks(Protocol):
    """The training processes, as the backend needs them (accelerate's collectives in a run)."""

    index: int

    def share(self, value: Any) -> Any:
        """The main process's `value`, on every process (a barrier too)."""
        ...

    def gather(self, value: Any) -> list[Any]:
        """Every process's `value`, in rank order, on every process."""
        ...


class VllmServerBackend(SyncedBackend):
    """Samples with a vLLM server that gets the student's weights after every optimizer step.

    Args:
        server: The server's client.
        model_name: The name the server serves the student under (`/v1/models`).
        unwrap_model: Returns the bare model from what the trainer holds.
        handover: Gives the server a bare model's weights; a checkpoint in a temporary
            folder (`CheckpointHandover`) when None.
        main_process: Whether this process talks to the server (the main one).
        ranks: The training processes; None with one.
    """

    name = "vllm-server"

    def __init__(
        self,
        server: VllmServer,
        model_name: str,
        unwrap_model: Callable[[Any], Any],
        handover: Callable[[Any], None] | None = None,
        *,
        main_process: bool = True,
        ranks: Ranks | None = None,
    ) -> None:
        super().__init__()
        self.main_process = main_process
        self._ranks = ranks
        self.server = server
        self.model_name = model_name
        self._unwrap = unwrap_model
        self.handover = handover or CheckpointHandover(server)

    def _on_main(self, work: Callable[[], Any], failed: str) -> Any:
        """`work()` on the main process; its result (or its failure, raised) on every process."""
        if self._ranks is None:
            return work()
        outcome: tuple[bool, Any] = (True, None)
        if self.main_process:
            try:
                outcome = (True, work())
            except Exception as exc:
                self._ranks.share((False, f"{type(exc).__name__}: {exc}"))
                raise
        done, value = self._ranks.share(outcome)
        if not done:
            raise RuntimeError(f"the main process could not {failed}: {value}")
        return value

    def _push(self, model: Any) -> None:
        def hand_over() -> None:
            self.handover(self._unwrap(model))
            self.server.reset_prefix_cache()

        # No rank samples before the server has the new weights.
        self._on_main(hand_over, "give the vLLM server the new weights")

    def close(self) -> None:
        """Release what the handover holds on the server (a weight-transfer group); idempotent."""
        if self.main_process and (close := getattr(self.handover, "close", None)) is not None:
            close()

    def _sample(self, prompts: list[list[int]], generation_config: Any) -> list[list[int]]:
        settings = sampling_settings(generation_config)
        if self._ranks is None:
            return self.server.complete(self.model_name, prompts, settings)
        every = self._ranks.gather(prompts)
        counts = [len(p) for p in every]

        def complete_all() -> list[list[list[int]]]:
            flat = self.server.complete(self.model_name, [p for rank in every for p in rank], settings)
            starts = [sum(counts[:r]) for r in range(len(counts))]
            return [flat[start : start + n] for start, n in zip(starts, counts, strict=True)]

        per_rank: list[list[list[int]]] = self._on_main(complete_all, "get completions from the vLLM server")
        return per_rank[self._ranks.index]
