"""Generation speed and on-policy step time: transformers against vLLM, gkd against TRL.

Same tiny float32 Llama models (built here with `tests/tiny_models.py`), same chat
prompts, every side in a fresh process (vLLM allows one engine per process), rounds
interleaved. Two parts (sides in `generation_sides.py` and below):

1. Generation, one batch at a time, shapes 4x32, 16x32 and 8x128 (prompts x new
   tokens), T 0.9, top_k 0, top_p 1 (TRL GKD's sampling), no stop token: every
   completion runs full length, so every side generates the same number of tokens.
   `transformers` (TRL's `generate_on_policy_outputs`, KV cache), `vllm-bare`
   (`llm.generate` on the engine gkd builds) and `vllm-backend` (gkd's
   `VllmBackend.generate`, a weight sync before every call).
2. On-policy steps, lmbda 1, batch 16, 32 new tokens, completions ending at the end
   token as in a real run (tokens per step are reported): `gkd` (`gkd run`,
   transformers backend), `gkd-vllm` (`generation.backend: vllm`), `trl-gkd` (TRL's
   GKDTrainer with its defaults) and `trl-distill` (TRL's DistillationTrainer with its
   defaults, beta 0.5). Step time is wall time from one step end to the next;
   class-level timers and decoder hooks (`generation_counters.Counters`) split it up.

A side runs again (up to `--attempts` times) when other processes kept more than
0.15 cores busy on average while it ran; before each side the script waits for the
machine to be idle.

Usage:

    python benchmarks/generation.py [--quick] [--parts gen step] [--threads N] [--workdir DIR]
    python benchmarks/generation.py --report WORKDIR/generation-results.json

Prints markdown tables; the raw numbers go to WORKDIR/generation-results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from generation_counters import Counters
from generation_server import gen_vllm_server
from generation_sides import GEN_SIDES, SHAPES, build_assets

GEN_SIDES = {**GEN_SIDES, "vllm-server": gen_vllm_server}

STEP: dict[str, Any] = {"seed": 0, "lmbda": 1.0, "beta": 0.5, "temperature": 0.9, "max_new_tokens": 32,
                        "per_device_train_batch_size": 16, "learning_rate": 1e-3, "max_length": 128}
OTHER_LOAD_LIMIT = 0.15  # cores other processes may keep busy (mean) while a side runs, or it runs again
COMMON: dict[str, Any] = {"logging_steps": 1, "save_strategy": "no", "report_to": []}


def _tokens_in_labels(args: Any, _result: Any) -> int:
    return int((args[3]["labels"] != -100).sum())  # GkdTrainer._generate(self, backend, model, inputs)


def step_gkd(workdir: Path, steps: int, counters: Counters, backend: str = "transformers") -> None:
    """`gkd run` with a minimal config and the given generation backend."""
    from gkd_schema.models import RunConfig
    from gkd_schema.runner.generation.vllm_backend import VllmBackend
    from gkd_schema.runner.train.run import execute
    from gkd_schema.runner.train.trainer import GkdTrainer

    counters.wrap(GkdTrainer, "_generate", "generation", tokens=_tokens_in_labels)
    counters.wrap(VllmBackend, "sync", "sync")
    counters.wrap_loss(GkdTrainer)
    config = RunConfig.model_validate({
        "model": {"name_or_path": str(workdir / "student"), "dtype": "float32"},
        "gkd": {"teacher_model_name_or_path": str(workdir / "teacher"),
                "teacher_model_init_kwargs": {"dtype": "float32"},
                **{k: STEP[k] for k in ("lmbda", "beta", "temperature", "max_new_tokens")}},
        "data": {"train": {"path": str(workdir / "train.jsonl")}},
        "generation": {"backend": backend},
        "training": {"output_dir": str(workdir / f"out-gkd-{backend}"), "max_steps": steps, **COMMON,
                     **{k: STEP[k] for k in ("seed", "per_device_train_batch_size", "learning_rate", "max_length")}},
    })
    code = execute(config, base_dir=workdir, overwrite=True, echo=lambda _l: None, callbacks=[counters.callback()])
    assert code == 0


def step_trl_gkd(workdir: Path, steps: int, counters: Counters) -> None:
    """TRL's GKDTrainer with its defaults (bf16, gradient checkpointing), lmbda 1."""
    from datasets import load_dataset
    from transformers import AutoTokenizer

    from gkd_schema.runner.preflight.trl_compat import gkd_classes

    config_cls, trainer_cls = gkd_classes()
    counters.wrap(trainer_cls, "generate_on_policy_outputs", "generation",
                  tokens=lambda _a, out: int((out[2] != -100).sum()))
    counters.wrap_loss(trainer_cls)
    args = config_cls(output_dir=str(workdir / "out-trl-gkd"), max_steps=steps, use_cpu=True, **COMMON, **STEP)
    trainer_cls(
        model=str(workdir / "student"), teacher_model=str(workdir / "teacher"), args=args,
        train_dataset=load_dataset("json", data_files=str(workdir / "train.jsonl"), split="train"),
        processing_class=AutoTokenizer.from_pretrained(str(workdir / "student")), callbacks=[counters.callback()],
    ).train()


def step_trl_distill(workdir: Path, steps: int, counters: Counters) -> None:
    """TRL's DistillationTrainer with its defaults; beta 0.5, 32 new tokens, T 0.9 as the others."""
    from datasets import load_dataset
    from transformers import AutoTokenizer
    from trl.trainer.distillation_config import DistillationConfig
    from trl.trainer.distillation_trainer import DistillationTrainer

    counters.wrap(DistillationTrainer, "_generate_single_turn", "generation",
                  tokens=lambda _a, out: sum(len(c) for c in out))
    counters.wrap_loss(DistillationTrainer)
    args = DistillationConfig(
        output_dir=str(workdir / "out-trl-distill"), max_steps=steps, use_cpu=True, **COMMON,
        max_completion_length=STEP["max_new_tokens"],
        **{k: STEP[k] for k in ("seed", "beta", "temperature", "per_device_train_batch_size", "learning_rate")},
    )
    tokenizer = AutoTokenizer.from_pretrained(str(workdir / "student"), padding_side="left")
    DistillationTrainer(
        model=str(workdir / "student"), teacher_model=str(workdir / "teacher"), args=args,
        train_dataset=load_dataset("json", data_files=str(workdir / "prompts.jsonl"), split="train"),
        processing_class=tokenizer, callbacks=[counters.callback()],
    ).train()


STEP_SIDES = {
    "gkd": step_gkd,
    "gkd-vllm": lambda w, s, c: step_gkd(w, s, c, backend="vllm"),
    "trl-gkd": step_trl_gkd,
    "trl-distill": step_trl_distill,
}
NAMES = {"gkd": "gkd run, transformers", "gkd-vllm": "gkd run, vLLM", "trl-gkd": "TRL GKDTrainer defaults",
         "trl-distill": "TRL DistillationTrainer defaults"}
PARTS = ("data", "generation only", "sync", "teacher decoder forward", "student decoder forward",
         "LM heads + loss", "backward", "clip", "optimizer step", "log", "rest")


def _child(ns: argparse.Namespace) -> None:
    if ns.part == "gen":
        result = GEN_SIDES[ns.side](ns.workdir, ns.warmup, ns.repeats, ns.threads)
    else:
        counters = Counters()
        counters.wrap_common()
        STEP_SIDES[ns.side](ns.workdir, ns.steps, counters)
        result = counters.per_step()
    ns.out.write_text(json.dumps(result))


def _run(part: str, side: str, ns: argparse.Namespace, round_: int) -> tuple[Any, float]:
    out = ns.workdir / "results" / f"{part}-{side}-{round_}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(ns.threads), "VLLM_CACHE_ROOT": str(ns.workdir / "vllm-cache"),
           "VLLM_LOGGING_LEVEL": "WARNING", "TOKENIZERS_PARALLELISM": "false"}
    argv = [sys.executable, __file__, "--part", part, "--side", side, "--out", str(out), "--workdir",
            str(ns.workdir), "--steps", str(ns.steps), "--repeats", str(ns.repeats), "--warmup", str(ns.warmup),
            "--threads", str(ns.threads)]
    for attempt in range(1, ns.attempts + 1):
        _wait_idle(ns.idle_wait)
        machine0, own0, start = _busy_jiffies(), _children_cpu(), time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"{part} {side} (round {round_ + 1}) failed:\n{proc.stderr[-6000:]}")
        # Cores other processes kept busy while the side ran: the machine's busy time less the side's own.
        busy, total = (a - b for a, b in zip(_busy_jiffies(), machine0, strict=True))
        load = max(0.0, busy / max(total, 1) * (os.cpu_count() or 1) - (_children_cpu() - own0) / wall)
        if load <= OTHER_LOAD_LIMIT:
            break
        print(f"{part} {side} round {round_ + 1}: other work kept {load:.2f} cores busy; "
              + ("measuring again" if attempt < ns.attempts else "kept"), file=sys.stderr)
    result = json.loads(out.read_text())
    result.update(other_load=load, attempts=attempt)
    return result, wall


def _busy_jiffies() -> tuple[int, int]:
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(fields) - fields[3] - fields[4], sum(fields)


def _children_cpu() -> float:
    t = os.times()
    return t.children_user + t.children_system


def _wait_idle(limit: float) -> None:
    """Wait (up to `limit` seconds) until other work keeps under 0.3 cores busy for a second."""
    from gkd_schema.runner.preflight.cpu_threads import busy_cores

    deadline = time.monotonic() + limit
    while (busy_cores(1.0) or 0.0) > 0.3 and time.monotonic() < deadline:
        time.sleep(5)


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _gen_tables(rounds: list[dict[str, Any]]) -> None:
    print("\n## Generation: seconds per batch (median of the rounds' medians), tokens/s, ratios\n")
    print("| prompts x new tokens | tokens | transformers s | vLLM bare s | VllmBackend s (sync + generate) "
          "| sync s | tokens/s: transformers / bare / backend | bare / transformers | backend / bare |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, new in SHAPES:
        key = f"{n}x{new}"
        t, b, c, s, g = ([_med(r[side][key][f]) for r in rounds] for side, f in (
            ("transformers", "seconds"), ("vllm-bare", "seconds"), ("vllm-backend", "seconds"),
            ("vllm-backend", "sync"), ("vllm-backend", "generate")))
        tokens = {rounds[0][side][key]["tokens"] for side in GEN_SIDES}
        tok = tokens.pop() if len(tokens) == 1 else float("nan")  # unequal counts would show as nan
        ta, tb, tc = _med(t), _med(b), _med(c)
        print(f"| {key} | {tok} | {ta:.4f} | {tb:.4f} | {tc:.4f} ({_med(s):.4f} + {_med(g):.4f}) | {_med(s):.4f} "
              f"| {tok / ta:.0f} / {tok / tb:.0f} / {tok / tc:.0f} | {_ratios(b, t)} | {_ratios(c, b)} |")
    print("\nRatios: median of the rounds (each round's range in brackets). Goal: backend / bare <= 1.1x.")
    if "vllm-server" in rounds[0]:
        print("\n### Server mode: VllmServerBackend against a vLLM server process (sync = checkpoint + reload)\n")
        print("| prompts x new tokens | server s (sync + generate) | server / colocated backend |")
        print("|---|---|---|")
        for n, new in SHAPES:
            key = f"{n}x{new}"
            srv, col = ([_med(r[side][key]["seconds"]) for r in rounds] for side in ("vllm-server", "vllm-backend"))
            sync, gen = ([_med(r["vllm-server"][key][f]) for r in rounds] for f in ("sync", "generate"))
            print(f"| {key} | {_med(srv):.4f} ({_med(sync):.4f} + {_med(gen):.4f}) | {_ratios(srv, col)} |")
    print("\n### Pieces of one VllmBackend.generate at 16x32 (median seconds, per round)\n")
    for name in rounds[0]["vllm-backend"]["pieces"]:
        print(f"- {name}: " + " / ".join(f"{r['vllm-backend']['pieces'][name]:.5f}" for r in rounds))


def _ratios(top: list[float], bottom: list[float]) -> str:
    each = [a / b for a, b in zip(top, bottom, strict=True)]
    return f"{_med(each):.2f}x" + (f" [{min(each):.2f}-{max(each):.2f}]" if len(each) > 1 else "")


def _parts(data: dict[str, list[float]], skip: int) -> dict[str, float]:
    """Mean seconds per timed step of each part of a step (`rest`: what no timer covers)."""
    mean = {k: statistics.fmean(v[skip:]) for k, v in data.items() if isinstance(v, list)}
    get = mean.get
    parts = {
        "data": get("data", 0.0), "generation only": get("generation", 0.0) - get("sync", 0.0),
        "sync": get("sync", 0.0), "teacher decoder forward": get("teacher decoder forward", 0.0),
        "student decoder forward": get("student decoder forward", 0.0),
        "LM heads + loss": get("compute_loss", 0.0) - get("teacher decoder forward", 0.0)
        - get("student decoder forward", 0.0),
        "backward": get("backward", 0.0), "clip": get("clip", 0.0), "optimizer step": get("optimizer step", 0.0),
        "log": get("log", 0.0),
    }
    parts["rest"] = mean["wall"] - sum(parts.values())
    return parts


def _step_tables(rounds: list[dict[str, Any]], skip: int, gen_rounds: list[dict[str, Any]] | None) -> None:
    steps = len(rounds[0]["gkd"]["wall"])
    print(f"\n## On-policy step: {steps} steps, the first {skip} left out, {len(rounds)} round(s)\n")
    print("| run | median s/step (per round) | generation s | sync s | rest s | completion tokens/step "
          "| vs the faster TRL trainer |")
    print("|---|---|---|---|---|---|---|")
    med = {side: [_med(r[side]["wall"][skip:]) for r in rounds] for side in STEP_SIDES}
    faster = [min(a, b) for a, b in zip(med["trl-gkd"], med["trl-distill"], strict=True)]
    for side in STEP_SIDES:
        gen = _med([_med(r[side]["generation"][skip:]) - _med(r[side].get("sync", [0.0] * steps)[skip:])
                    for r in rounds])
        sync = _med([_med(r[side].get("sync", [0.0] * steps)[skip:]) for r in rounds])
        rest = _med([_med([w - g for w, g in zip(r[side]["wall"][skip:], r[side]["generation"][skip:],
                                                 strict=True)]) for r in rounds])
        tokens = _med([statistics.fmean(r[side]["tokens"][skip:]) for r in rounds])
        print(f"| {NAMES[side]} | {_med(med[side]):.3f} ({' / '.join(f'{m:.3f}' for m in med[side])}) "
              f"| {gen:.3f} | {sync:.4f} | {rest:.3f} | {tokens:.0f} | {_ratios(med[side], faster)} |")
    print("\n`generation`: median per step with the sync left out; `rest`: median of step minus generation "
          "and sync. Goal: gkd <= 0.45x the faster TRL trainer.")
    if gen_rounds:
        bare = _med([_med(r["vllm-bare"]["16x32"]["seconds"]) for r in gen_rounds])
        inside = _med([_med(r["gkd-vllm"]["generation"][skip:]) for r in rounds])
        print(f"\ngkd run, vLLM: generation + sync inside a step {inside:.4f} s = {inside / bare:.2f}x the bare "
              f"engine's 16x32 batch ({bare:.4f} s, full length; goal <= 1.1x)")
    print("\n### Where a step's time goes: mean seconds per timed step (median of the rounds)\n")
    print("| part | " + " | ".join(NAMES[s] for s in STEP_SIDES) + " |")
    print("|---|" + "---|" * len(STEP_SIDES))
    table = {s: [_parts(r[s], skip) for r in rounds] for s in STEP_SIDES}
    for part in PARTS:
        print(f"| {part} | " + " | ".join(f"{_med([p[part] for p in table[s]]):.4f}" for s in STEP_SIDES) + " |")
    print("| mean step | " + " | ".join(
        f"{_med([statistics.fmean(r[s]['wall'][skip:]) for r in rounds]):.4f}" for s in STEP_SIDES) + " |")


def main() -> None:
    """Build the assets, run every side of every round in fresh processes, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round, few repeats and steps (a smoke run)")
    parser.add_argument("--parts", nargs="+", choices=("gen", "step"), default=["gen", "step"])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--report", type=Path, default=None, help="print the tables of a saved results file")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--idle-wait", type=float, default=600,
                        help="before each side, wait up to this many seconds for the machine to be idle")
    parser.add_argument("--attempts", type=int, default=4,
                        help=f"runs of a side while other work keeps over {OTHER_LOAD_LIMIT} cores busy")
    for hidden in ("--side", "--part", "--out", "--steps", "--repeats", "--warmup"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    ns = parser.parse_args()
    ns.workdir = (ns.workdir or Path(tempfile.mkdtemp(prefix="gkd-generation-"))).resolve()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    if ns.side:
        ns.steps, ns.repeats, ns.warmup, ns.out = int(ns.steps), int(ns.repeats), int(ns.warmup), Path(ns.out)
        _child(ns)
        return
    rounds = ns.rounds or (1 if ns.quick else 3)
    ns.steps, ns.repeats, ns.warmup = (8, 3, 2) if ns.quick else (24, 10, 3)
    if ns.report:
        saved = json.loads(ns.report.read_text())
        _report(saved["results"], saved["threads"], saved["skip"], saved["seconds"], saved["wall"])
        return
    ns.workdir.mkdir(parents=True, exist_ok=True)
    build_assets(ns.workdir)
    started, spent = time.perf_counter(), {}
    results: dict[str, list[dict[str, Any]]] = {"gen": [], "step": []}
    for part in ns.parts:
        sides = list(GEN_SIDES if part == "gen" else STEP_SIDES)
        for i in range(rounds):
            order = sides[i % len(sides):] + sides[: i % len(sides)]  # each round starts with another side
            results[part].append({})
            for side in order:
                results[part][i][side], spent[f"{part} {side} {i + 1}"] = _run(part, side, ns, i)
    wall, skip = time.perf_counter() - started, 3 if ns.quick else 4
    (ns.workdir / "generation-results.json").write_text(json.dumps(
        {"results": results, "seconds": spent, "threads": ns.threads, "skip": skip, "wall": wall}))
    _report(results, ns.threads, skip, spent, wall)


def _report(results: dict[str, list[dict[str, Any]]], threads: int, skip: int, spent: dict[str, float],
            wall: float) -> None:
    loads = [r[side]["other_load"] for p in results.values() for r in p for side in r]
    again = sum(r[side]["attempts"] - 1 for p in results.values() for r in p for side in r)
    print(f"threads {threads}; cores kept busy by other work while a side ran: mean {statistics.fmean(loads):.2f}, "
          f"max {max(loads):.2f}; sides measured again for it: {again}")
    if results["gen"]:
        _gen_tables(results["gen"])
    if results["step"]:
        _step_tables(results["step"], skip, results["gen"] or None)
    print(f"\nwall time: {wall:.0f} s (" + ", ".join(f"{k} {v:.0f} s" for k, v in spent.items()) + ")")


if __name__ == "__main__":
    main()
