"""Step time of `gkd run` against TRL's GKDTrainer with its defaults, side by side.

Both train the same tiny local teacher (~5.3M parameters) and student (~1.3M), built
here with `tests/tiny_models.py`, on the same conversations with the same seed,
batch size, learning rate, lmbda, max_new_tokens and step count. TRL keeps its own
defaults for everything else (bf16 on, gradient checkpointing on, load dtype auto);
`use_cpu=True` is passed to TRL only because transformers refuses bf16 without it on
a CPU-only machine. Each side runs in a fresh process; generation time is measured
the same way for both (a timer around `GKDTrainer.generate_on_policy_outputs`, which
gkd's trainer inherits), and TRL's per-process coin is replaced by gkd's seeded
decisions so both sides generate on the same steps. The checkpoints are stored in
bfloat16, as real Hub checkpoints are.

Two data sets: `short` (completions of 4 tokens, far shorter than the 128 generated
on-policy) and `long` (completions of 40-80 tokens, like real data relative to
`max_new_tokens`). Three more sides (see `step_time_sides.py`): `gkd run` with the
teacher forced to float32, which shows what gkd's choice of a bf16 teacher on a CPU
with native bf16 gains; `gkd run` with bf16 autocast, which shows what its choice of
fp32 training on a CPU gains; and `floor`, off-policy steps in plain PyTorch: no
trainer can take an off-policy step faster than that.

Usage:

    python benchmarks/step_time.py [--steps 20] [--data short long] [--workdir DIR]

Prints a table per data set: median and mean step time (first step left out), the
medians of on- and off-policy steps, the share of step time spent in on-policy
generation, on-policy steps taken, and the loss.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# The script's own folder is on sys.path when run as `python benchmarks/step_time.py`.
from step_time_sides import DATA, SHARED, SIDES, Timing, build_assets

NAMES = {
    "trl": "TRL GKDTrainer defaults",
    "gkd": "gkd run",
    "gkd-fp32-teacher": "gkd run, teacher forced to float32",
    "gkd-bf16": "gkd run, training.bf16 true",
    "floor": "plain PyTorch off-policy steps",
}


def _child(side: str, workdir: Path, data: str, steps: int) -> None:
    """Run one side and print its measurements as JSON on the last line."""
    timing = Timing()
    losses = SIDES[side](workdir, data, steps, timing)
    print(json.dumps({"steps": timing.steps, "generation": timing.generation,
                      "on_policy": timing.on_policy, "losses": losses}))


def _summary(name: str, data: dict[str, Any]) -> dict[str, Any]:
    steps = data["steps"][1:]  # the first step pays for lazy initialisation
    gens = data["generation"][1:]
    on = [t for t, g in zip(steps, gens, strict=True) if g > 0]
    off = [t for t, g in zip(steps, gens, strict=True) if g == 0]
    return {
        "name": name,
        "on_median": statistics.median(on) if on else float("nan"),
        "off_median": statistics.median(off) if off else float("nan"),
        "median": statistics.median(steps),
        "mean": statistics.fmean(steps),
        "gen_share": sum(gens) / sum(steps),
        "on_policy": data["on_policy"],
        "first_loss": data["losses"][0],
        "last3_loss": statistics.fmean(data["losses"][-3:]),
    }


def _params(path: Path) -> str:
    from safetensors import safe_open

    with safe_open(str(path / "model.safetensors"), "pt") as fh:
        count = sum(_numel(fh.get_slice(k).get_shape()) for k in fh.keys())  # noqa: SIM118
    return f"{count / 1e6:.2f}M"


def _numel(shape: list[int]) -> int:
    total = 1
    for dim in shape:
        total *= dim
    return total


def _run_side(side: str, workdir: Path, data: str, steps: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--side", side, "--data", data, "--steps", str(steps),
         "--workdir", str(workdir)],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        sys.exit(f"{NAMES[side]} ({data}) failed:\n{proc.stderr[-4000:]}")
    return _summary(NAMES[side], json.loads(proc.stdout.strip().splitlines()[-1]))


def _print_table(data: str, steps: int, rows: list[dict[str, Any]]) -> None:
    print(f"\n### data: {data} ({DATA[data]})\n")
    print(f"{steps} steps, batch {SHARED['per_device_train_batch_size']}, lmbda {SHARED['lmbda']}, "
          f"{SHARED['max_new_tokens']} new tokens; first step left out\n")
    print("| run | median s/step | mean s/step | median on-policy step | median off-policy "
          "step | generation share | on-policy steps | first loss | mean of last 3 losses |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {r['median']:.3f} | {r['mean']:.3f} | {r['on_median']:.3f} "
              f"| {r['off_median']:.3f} | {r['gen_share']:.0%} | {r['on_policy']} "
              f"| {r['first_loss']:.4g} | {r['last3_loss']:.4g} |")
    trl, gkd, fp32_teacher, bf16, floor = rows
    print()
    for key, label in (("median", "median step"), ("mean", "mean step"),
                       ("on_median", "median on-policy step"), ("off_median", "median off-policy step")):
        print(f"- gkd run {label}: {gkd[key] / trl[key]:.2f}x TRL defaults' (target <= 0.25x)")
    print(f"- gkd run's teacher as gkd loads it vs forced to float32, median off-policy step: "
          f"{gkd['off_median'] / fp32_teacher['off_median']:.2f}x")
    print(f"- gkd run in fp32 (its CPU choice) vs with training.bf16 true, mean step: "
          f"{gkd['mean'] / bf16['mean']:.2f}x")
    print(f"- plain PyTorch off-policy step: {floor['off_median'] / trl['off_median']:.2f}x TRL "
          "defaults' off-policy step (the least any trainer can reach here)")


def main() -> None:
    """Build the assets, run every side in fresh processes, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--data", nargs="+", choices=sorted(DATA), default=["short", "long"])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--side", choices=sorted(SIDES), help=argparse.SUPPRESS)
    ns = parser.parse_args()
    workdir = ns.workdir or Path(tempfile.mkdtemp(prefix="gkd-step-time-"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    if ns.side:
        _child(ns.side, workdir, ns.data[0], ns.steps)
        return
    build_assets(workdir)
    print(f"teacher {_params(workdir / 'teacher')}, student {_params(workdir / 'student')} parameters")
    for data in ns.data:
        rows = [_run_side(side, workdir, data, ns.steps) for side in SIDES]
        _print_table(data, ns.steps, rows)


if __name__ == "__main__":
    main()
