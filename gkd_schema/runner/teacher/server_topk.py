"""A teacher behind a vLLM server: its top-K log-probs of a batch's tokens, asked for ahead of the loss.

The server scores the tokens it is given (`/v1/completions` with `prompt_logprobs: K` and
`max_tokens: 1`), so the batch's padding is trimmed off each row before sending and the
answers are put back where the loss expects them: at position j, the teacher's
distribution of token j + 1 (the causal shift), for every position whose next token is
labelled. The request runs on a worker thread, so the caller decides when to wait.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import torch

from gkd_schema.runner.clients.vllm_server import VllmServer

IGNORE_INDEX = -100


@dataclass
class TeacherServerStats:
    """What the teacher server cost a run: for the end summary and the benchmark."""

    requests: int = 0
    sequences: int = 0
    request_seconds: float = 0.0
    """Wall time of the requests themselves, on the worker thread."""
    wait_seconds: float = 0.0
    """Time the loss spent blocked on an answer: what prefetching exists to remove."""


@dataclass(frozen=True)
class ServedTopK:
    """The teacher's top K over a batch's `[batch, seq]` positions (absent entries: `-inf`)."""

    token_ids: torch.Tensor
    logprobs: torch.Tensor


@dataclass(frozen=True)
class Scored:
    """The rows to send, and where each row's scored positions go back."""

    sequences: list[list[int]]
    # Per row: (index in the sent sequence, padded position of the distribution) pairs.
    targets: list[list[tuple[int, int]]]


def rows_to_score(input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor) -> Scored:
    """Each row's real tokens up to its last labelled one, and where their log-probs belong.

    Position j of the loss scores label j + 1, so a labelled token at padded position p
    sent as the i-th token gives the teacher's distribution at position p - 1.
    """
    ids, mask, lab = input_ids.detach().cpu(), attention_mask.detach().cpu().bool(), labels.detach().cpu()
    sequences: list[list[int]] = []
    targets: list[list[tuple[int, int]]] = []
    for row_ids, row_mask, row_labels in zip(ids, mask, lab, strict=True):
        positions = torch.nonzero(row_mask, as_tuple=False).flatten().tolist()
        wanted = [(i, p - 1) for i, p in enumerate(positions) if i > 0 and int(row_labels[p]) != IGNORE_INDEX]
        last = wanted[-1][0] + 1 if wanted else 0
        sequences.append(row_ids[positions[:last]].tolist())
        targets.append(wanted)
    return Scored(sequences, targets)


def to_tensors(
    answers: list[list[dict[int, float] | None]], targets: list[list[tuple[int, int]]], shape: tuple[int, int], k: int
) -> ServedTopK:
    """The server's answers placed at their padded positions; positions with fewer than K entries pad with `-inf`."""
    batch, seq = shape
    ids = torch.zeros(batch, seq, k, dtype=torch.int64)
    logprobs = torch.full((batch, seq, k), -math.inf, dtype=torch.float32)
    rows: list[int] = []
    cols: list[int] = []
    id_rows: list[list[int]] = []
    lp_rows: list[list[float]] = []
    for b, (answer, wanted) in enumerate(zip(answers, targets, strict=True)):
        for index, position in wanted:
            entries = list((answer[index] or {}).items())[:k]
            missing = k - len(entries)
            rows.append(b)
            cols.append(position)
            id_rows.append([t for t, _ in entries] + [0] * missing)
            lp_rows.append([v for _, v in entries] + [-math.inf] * missing)
    if rows:
        ids[rows, cols] = torch.tensor(id_rows, dtype=torch.int64)
        logprobs[rows, cols] = torch.tensor(lp_rows, dtype=torch.float32)
    return ServedTopK(ids, logprobs)


class ServerTeacher:
    """Asks a vLLM server for the teacher's top K of batches, one request per batch, in order.

    Args:
        server: The teacher's server (its timeouts and retries apply to every request).
        model: The name the server serves the teacher under (from `/v1/models`).
        k: `teacher.top_k`.
    """

    def __init__(self, server: VllmServer, model: str, k: int) -> None:
        self.server, self.model, self.k = server, model, k
        self.stats = TeacherServerStats()
        # One worker: requests of one process go out one batch at a time, in submission order.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gkd-teacher")

    def submit(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor) -> Future[ServedTopK]:
        """Send the batch's tokens now; the future holds the top K (or the `ServerError`)."""
        scored = rows_to_score(input_ids, attention_mask, labels)
        shape = (int(input_ids.shape[0]), int(input_ids.shape[1]))
        return self._pool.submit(self._ask, scored, shape)

    def _ask(self, scored: Scored, shape: tuple[int, int]) -> ServedTopK:
        # A row with nothing labelled is not sent: the server refuses an empty prompt.
        sent = [i for i, sequence in enumerate(scored.sequences) if sequence]
        answers: list[list[dict[int, float] | None]] = [[] for _ in scored.sequences]
        started = time.perf_counter()
        try:
            if sent:
                replies = self.server.prompt_logprobs(self.model, [scored.sequences[i] for i in sent], self.k)
                for i, reply in zip(sent, replies, strict=True):
                    answers[i] = reply
        finally:
            self.stats.request_seconds += time.perf_counter() - started
            self.stats.requests += 1
            self.stats.sequences += len(sent)
        return to_tensors(answers, scored.targets, shape, self.k)

    def wait(self, answer: Future[ServedTopK]) -> ServedTopK:
        """The answer, once it has come; the time blocked counts as the loss's wait."""
        started = time.perf_counter()
        try:
            return answer.result()
        finally:
            self.stats.wait_seconds += time.perf_counter() - started
