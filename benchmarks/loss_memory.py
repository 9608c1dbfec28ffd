"""Peak memory and time of the generalized JSD loss: TRL's, chunked, fused, top-K.

Each case runs in a fresh child process (so that one case's allocator state cannot
flatter or penalise the next) under an address-space cap, so that a case that does not
fit fails cleanly ("did not fit") instead of taking the machine down. Peak memory is the
child's resident set size (VmHWM, reset after setup) above its resident size after
setup; tracemalloc cannot see torch's allocations. Time is the best of up to three
forward + backward runs (one or two when a run takes over 10 s).

Implementations (all fp32, forward + backward of the loss only):

- `trl`: TRL's `GKDTrainer.generalized_jsd_loss` on `[tokens, vocab]` logits.
- `chunked`: `chunked_generalized_jsd_loss` on the same logits.
- `logits+trl`: hidden states and output weights -> full logits (`F.linear` for both
  models) -> TRL's loss; the baseline of `fused`.
- `fused`: `fused_linear_generalized_jsd_loss` on the same hidden states and weights.
- `topk`: the same hidden states and weights -> the teacher's top K per token
  (`teacher_top_k_from_hidden`, a chunk of logits at a time) -> `fused_linear_topk_jsd_loss`
  with the tail bucket. Timed and measured as a whole, teacher side included.

The student's inputs require grad (for `fused` and `logits+trl`: its hidden states and
output weight, as in full fine-tuning); the teacher's do not. Every token is labelled.

Usage:
    python benchmarks/loss_memory.py                      # the full grid
    python benchmarks/loss_memory.py --tokens 1024 --vocab 151936 --beta 0.5
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

IMPLEMENTATIONS = ("trl", "chunked", "logits+trl", "fused", "topk")
# Which implementation each ratio is taken against.
BASELINE = {"trl": "trl", "chunked": "trl", "logits+trl": "logits+trl", "fused": "logits+trl", "topk": "fused"}
GIB = 1024**3
REPEATS = 3
REPEAT_BUDGET_S = 20.0


def _status_kib(field: str) -> int:
    """A `kB` field of /proc/self/status, such as VmRSS or VmHWM."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where not permitted."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def run_case(impl: str, tokens: int, vocab: int, hidden: int, beta: float, top_k: int) -> dict[str, Any]:
    """Set up one case, then measure one forward + backward (runs in the child)."""
    import torch
    import torch.nn.functional as F

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    from trl.experimental.gkd import GKDTrainer

    from gkd_schema.runner.loss.jsd_chunked import chunked_generalized_jsd_loss
    from gkd_schema.runner.loss.jsd_fused import fused_linear_generalized_jsd_loss
    from gkd_schema.runner.loss.jsd_topk import fused_linear_topk_jsd_loss
    from gkd_schema.runner.loss.topk_teacher import teacher_top_k_from_hidden

    torch.manual_seed(0)
    labels = torch.zeros(1, tokens, dtype=torch.long)
    if impl in ("trl", "chunked"):
        student = (torch.randn(1, tokens, vocab) * 2).requires_grad_()
        teacher = torch.randn(1, tokens, vocab) * 2
        leaves = [student]
    else:
        student_hidden = torch.randn(1, tokens, hidden).requires_grad_()
        student_weight = (torch.randn(vocab, hidden) * hidden**-0.5).requires_grad_()
        teacher_hidden = torch.randn(1, tokens, hidden)
        teacher_weight = torch.randn(vocab, hidden) * hidden**-0.5
        leaves = [student_hidden, student_weight]

    def loss_fn() -> Any:
        if impl == "trl":
            return GKDTrainer.generalized_jsd_loss(student, teacher, labels, beta=beta)
        if impl == "chunked":
            return chunked_generalized_jsd_loss(student, teacher, labels, beta=beta)
        if impl == "fused":
            return fused_linear_generalized_jsd_loss(
                student_hidden, student_weight, teacher_hidden, teacher_weight, labels, beta=beta
            )
        if impl == "topk":
            top = teacher_top_k_from_hidden(teacher_hidden, teacher_weight, None, labels, top_k)
            return fused_linear_topk_jsd_loss(student_hidden, student_weight, top, labels, beta=beta)
        with torch.no_grad():
            teacher_logits = F.linear(teacher_hidden, teacher_weight)
        student_logits = F.linear(student_hidden, student_weight)
        return GKDTrainer.generalized_jsd_loss(student_logits, teacher_logits, labels, beta=beta)

    gc.collect()
    baseline_kib = _status_kib("VmRSS")
    peak_reset = _reset_peak_rss()
    # Page faults dominate first touches of fresh memory in this VM and their cost varies
    # ~10x from run to run, so time up to REPEATS runs (fewer when slow) and keep the best.
    times: list[float] = []
    while len(times) < REPEATS and sum(times) < REPEAT_BUDGET_S:
        for leaf in leaves:
            leaf.grad = None
        start = time.perf_counter()
        loss = loss_fn()
        loss.backward()
        times.append(time.perf_counter() - start)
        del loss
    peak_kib = _status_kib("VmHWM") if peak_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    grad_norm = float(sum(float(x.grad.float().norm() ** 2) for x in leaves) ** 0.5)
    with torch.no_grad():
        loss_value = float(loss_fn())
    return {
        "loss": loss_value,
        "grad_norm": grad_norm,
        "seconds": min(times),
        "all_seconds": times,
        "peak_gib": (peak_kib - baseline_kib) / 1024**2,
        "baseline_gib": baseline_kib / 1024**2,
        "peak_reset": peak_reset,
    }


@dataclass
class Result:
    """One measured (or failed) case."""

    impl: str
    tokens: int
    vocab: int
    beta: float
    data: dict[str, Any] | None
    error: str | None
    load: float
    """The machine's 1-minute load average when the case started (timing noise)."""


def spawn_case(
    impl: str, tokens: int, vocab: int, hidden: int, beta: float, mem_cap_gib: float, top_k: int
) -> Result:
    """Run one case in a fresh interpreter capped at `mem_cap_gib` of address space."""
    cmd = [
        sys.executable,
        __file__,
        "--child",
        impl,
        "--tokens", str(tokens),
        "--vocab", str(vocab),
        "--hidden", str(hidden),
        "--beta", str(beta),
        "--top-k", str(top_k),
        "--mem-cap-gib", str(mem_cap_gib),
    ]  # fmt: skip
    load = os.getloadavg()[0]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            payload = json.loads(line)
            return Result(impl, tokens, vocab, beta, payload.get("result"), payload.get("error"), load)
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return Result(impl, tokens, vocab, beta, None, f"exit {proc.returncode}: {tail[:120]}", load)


def child_main(args: argparse.Namespace) -> None:
    """Entry point of a child: cap memory, run the case, print one JSON line."""
    cap = int(args.mem_cap_gib * GIB)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    try:
        result = run_case(args.child, args.tokens, args.vocab, args.hidden, args.beta, args.top_k)
        print(json.dumps({"result": result}))
    except (MemoryError, RuntimeError) as exc:
        # torch reports a refused allocation as RuntimeError("... not enough memory ...").
        did_not_fit = isinstance(exc, MemoryError) or "memory" in str(exc).lower()
        message = "did not fit" if did_not_fit else f"error: {str(exc).splitlines()[0][:120]}"
        print(json.dumps({"error": message}))


def _fmt_case(result: Result, baseline: Result | None) -> list[str]:
    """Table cells for one result: peak GiB, ratio, seconds, ratio."""
    if result.data is None:
        return [result.error or "failed", "", "", ""]
    peak, secs = result.data["peak_gib"], result.data["seconds"]
    if baseline is not None and baseline.data is not None and baseline is not result:
        mem_ratio = f"{peak / baseline.data['peak_gib']:.3f}x"
        time_ratio = f"{secs / baseline.data['seconds']:.3f}x"
    else:
        mem_ratio = time_ratio = "1x" if baseline is result else "n/a"
    return [f"{peak:.3f}", mem_ratio, f"{secs:.2f}", time_ratio]


def render_table(results: list[Result]) -> str:
    """A Markdown table; ratios are to `trl` (for chunked) or `logits+trl` (for fused)."""
    by_key = {(r.impl, r.tokens, r.vocab, r.beta): r for r in results}
    columns = ["tokens", "vocab", "beta", "implementation", "peak GiB above baseline"]
    columns += ["memory ratio", "fwd+bwd s", "time ratio", "loss", "load"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in results:
        base = by_key.get((BASELINE[r.impl], r.tokens, r.vocab, r.beta))
        loss = f"{r.data['loss']:.6g}" if r.data else ""
        cells = [str(r.tokens), str(r.vocab), f"{r.beta:g}", r.impl, *_fmt_case(r, base), loss, f"{r.load:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments; run as the parent (the grid) or as one child case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    parser.add_argument("--tokens", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--vocab", type=int, nargs="+", default=[32000, 151936])
    parser.add_argument("--beta", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    parser.add_argument("--hidden", type=int, default=896)
    parser.add_argument("--top-k", type=int, default=64, help="K of the `topk` implementation")
    parser.add_argument("--impl", choices=IMPLEMENTATIONS, nargs="+", default=list(IMPLEMENTATIONS))
    parser.add_argument("--mem-cap-gib", type=float, default=20.0, help="address-space cap of each case")
    parser.add_argument("--json", help="also write the raw results to this file")
    args = parser.parse_args(argv)
    if args.child:
        args.tokens, args.vocab, args.beta = args.tokens[0], args.vocab[0], args.beta[0]
        child_main(args)
        return
    results = []
    for tokens in args.tokens:
        for vocab in args.vocab:
            for beta in args.beta:
                for impl in args.impl:
                    result = spawn_case(impl, tokens, vocab, args.hidden, beta, args.mem_cap_gib, args.top_k)
                    print(render_table([result]).splitlines()[-1], flush=True, file=sys.stderr)
                    results.append(result)
    print(f"hidden {args.hidden}, top-K {args.top_k}, fp32, CPU threads {os.cpu_count()}, cap {args.mem_cap_gib} GiB\n")
    print(render_table(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump([r.__dict__ for r in results], fh, indent=1)


if __name__ == "__main__":
    main()
