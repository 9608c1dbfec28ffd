"""The trainer's requests to a teacher server: sent as soon as a batch's tokens are final.

A dataset batch (not on-policy) is final when the data loader yields it, so its request
goes out when the step before it starts training (`ahead`). An on-policy batch is final
once its completions are sampled, so its request goes out then and overlaps the
student's forward pass (`start`). The loss collects the answer (`collect`); a batch
nobody asked for yet (evaluation, or `teacher.prefetch: false`) is asked for there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import torch

from gkd_schema.runner.loss.topk_teacher import TeacherTopK
from gkd_schema.runner.teacher.server_topk import ServedTopK, ServerTeacher


class TeacherRequests:
    """Requests in flight, by batch, and the one the next loss collects.

    Args:
        teacher: The server teacher.
        prefetch: `teacher.prefetch`: send before the loss asks.
    """

    def __init__(self, teacher: ServerTeacher, *, prefetch: bool) -> None:
        self.teacher, self.prefetch = teacher, prefetch
        # id(batch) -> (batch, answer): the batch is kept so that its id is not reused.
        self._ahead: dict[int, tuple[dict[str, Any], Future[ServedTopK]]] = {}
        self._current: Future[ServedTopK] | None = None

    def _submit(self, inputs: dict[str, Any]) -> Future[ServedTopK]:
        return self.teacher.submit(inputs["input_ids"], inputs["attention_mask"], inputs["labels"])

    def ahead(self, batches: Sequence[dict[str, Any]], from_dataset: Callable[[int], bool]) -> None:
        """Send the batches (micro-batch i when `from_dataset(i)`) that are not on their way already."""
        if not self.prefetch:
            return
        for micro, batch in enumerate(batches):
            if id(batch) not in self._ahead and from_dataset(micro):
                self._ahead[id(batch)] = (batch, self._submit(batch))

    def start(self, inputs: dict[str, Any], *, regenerated: bool) -> None:
        """The micro-batch about to train, with its final tokens (`regenerated`: new completions)."""
        sent = self._ahead.pop(id(inputs), None)
        if sent is not None and sent[0] is inputs and not regenerated:
            self._current = sent[1]
        else:
            self._current = self._submit(inputs) if self.prefetch else None

    def collect(self, inputs: dict[str, Any], device: torch.device) -> TeacherTopK:
        """The teacher's top K of the batch being trained (or evaluated), on `device`."""
        answer, self._current = self._current, None
        served = self.teacher.wait(answer if answer is not None else self._submit(inputs))
        return TeacherTopK(served.token_ids.to(device), served.logprobs.to(device))

    def drop_ahead(self) -> None:
        """Cancel what was sent and not collected (training ended, or stopped, before it trained).

        A request already on its way finishes within `request_timeout_s`; none is used later
        for another batch (an evaluation after a stopped step asks afresh).
        """
        for _, answer in self._ahead.values():
            answer.cancel()
        self._ahead.clear()
        if self._current is not None:
            self._current.cancel()
            self._current = None
