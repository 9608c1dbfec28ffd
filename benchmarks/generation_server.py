"""The server side of `generation.py`: gkd's `VllmServerBackend` against a real vLLM server.

`vllm-server`: the CPU build's OpenAI-compatible server (started here, in its own
process, on a free loopback port, with the run's thread count; always stopped), and
`VllmServerBackend.generate` with the weights version moved before every call, so each
one first writes the student's weights as a checkpoint and has the server reload them.
The server holds the cores it computes on, so this side is not comparable with the
in-process ones on a machine with fewer cores than both processes' threads.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from generation_sides import MAX_MODEL_LEN, ROOT, SHAPES, _generation_config, _prompts, _setup


def gen_vllm_server(workdir: Path, warmup: int, repeats: int, threads: int) -> dict[str, Any]:
    """Seconds per `VllmServerBackend.generate` (a sync before each), per shape."""
    sys.path.insert(0, str(ROOT / "tests" / "with_vllm"))
    from server import vllm_server

    from gkd_schema.runner.clients.vllm_server import VllmServer
    from gkd_schema.runner.generation.vllm_server_backend import VllmServerBackend

    model, tokenizer = _setup(workdir, threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)  # the server's own thread count
    out: dict[str, Any] = {}
    with vllm_server(workdir / "student", workdir / "server.log", max_model_len=MAX_MODEL_LEN) as running:
        client = VllmServer(running.url, request_timeout_s=300)
        backend = VllmServerBackend(client, client.models()[0].id, lambda m: m)
        stats, version = backend.stats, 0
        for n, new in SHAPES:
            inputs, config = _prompts(workdir, tokenizer, n), _generation_config(tokenizer, new)
            rows: dict[str, list[float]] = {"seconds": [], "sync": [], "generate": []}
            tokens = 0
            for i in range(warmup + repeats):
                version += 1
                sync0, gen0 = stats.sync_seconds, stats.generate_seconds
                _, mask, _ = backend.generate(model, inputs, config, weights_version=version)
                if i >= warmup:
                    rows["sync"].append(stats.sync_seconds - sync0)
                    rows["generate"].append(stats.generate_seconds - gen0)
                    rows["seconds"].append(rows["sync"][-1] + rows["generate"][-1])
                tokens = int(mask[:, inputs["prompts"].shape[1] :].sum())
            out[f"{n}x{new}"] = {**rows, "tokens": tokens}
    return out
