"""The quickstart's training under contention: torch's default threads vs gkd's choice.

    python benchmarks/cpu_threads.py [--steps 40] [--rounds 2]

One core is kept busy by this script itself (a spinning child process) for every timed
run. Each side runs the quickstart's models, data and settings for `--steps` steps in a
fresh process, interleaved round by round:

- `default`: `training.cpu_threads` set to what torch starts with (one thread per core);
- `gkd`: `training.cpu_threads` unset, so gkd chooses from the cores it may use and
  what the spinning process keeps busy.

Reports wall time of training and mean / median step time (first step left out) per
side and the ratio gkd / default.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "examples" / "quickstart"


def _child(side: str, steps: int, workdir: Path) -> None:
    """Train and print one JSON line: the thread count, wall time and step times."""
    import torch
    from transformers import TrainerCallback

    from gkd_schema.models import RunConfig
    from gkd_schema.runner.train.run import execute

    default_threads = torch.get_num_threads()
    times: list[float] = []
    used: list[int] = []

    class Clock(TrainerCallback):  # type: ignore[misc]
        def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.start = time.perf_counter()
            used.append(torch.get_num_threads())

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            times.append(time.perf_counter() - self.start)

    config = RunConfig.model_validate(
        {
            "model": {"name_or_path": str(QUICKSTART / "student"), "dtype": "float32"},
            "gkd": {
                "teacher_model_name_or_path": str(QUICKSTART / "teacher"),
                "teacher_model_init_kwargs": {"dtype": "float32"},
                "lmbda": 0.5, "beta": 0.5, "temperature": 0.9, "max_new_tokens": 8,
            },
            "data": {"train": {"path": str(QUICKSTART / "train.jsonl")}},
            "training": {
                "output_dir": str(workdir / f"out-{side}"), "learning_rate": 3e-3,
                "per_device_train_batch_size": 16, "max_steps": steps, "logging_steps": steps,
                "save_strategy": "no", "max_length": 64, "seed": 42,
                **({"cpu_threads": default_threads} if side == "default" else {}),
            },
        }
    )
    started = time.perf_counter()
    assert execute(config, base_dir=ROOT, overwrite=True, echo=lambda _l: None, callbacks=[Clock()]) == 0
    wall = time.perf_counter() - started
    print(json.dumps({"threads": used[0], "wall": wall, "steps": times}))


def _timed(side: str, steps: int, workdir: Path) -> dict[str, Any]:
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.0)  # let the spinner hold its core before gkd samples the load
        proc = subprocess.run(
            [sys.executable, __file__, "--child", side, "--steps", str(steps), "--workdir", str(workdir)],
            capture_output=True, text=True, check=False,
        )
    finally:
        spinner.kill()
        spinner.wait()
    if proc.returncode != 0:
        sys.exit(f"{side} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.steps, args.workdir)
        return
    runs: dict[str, list[dict[str, Any]]] = {"default": [], "gkd": []}
    with tempfile.TemporaryDirectory(prefix="gkd-threads-") as tmp:
        for _ in range(args.rounds):
            for side in runs:
                runs[side].append(_timed(side, args.steps, Path(tmp)))
    print(f"{args.steps} quickstart steps, one core kept busy, {args.rounds} rounds per side\n")
    print("side      threads  train wall s   mean step s   median step s")
    summary = {}
    for side, results in runs.items():
        steps = [t for r in results for t in r["steps"][1:]]
        wall = statistics.median(r["wall"] for r in results)
        summary[side] = (wall, statistics.fmean(steps))
        print(f"{side:<9} {results[0]['threads']:>7}  {wall:>12.2f}  {statistics.fmean(steps):>12.3f}"
              f"  {statistics.median(steps):>14.3f}")
    print(f"\ngkd / default: train wall {summary['gkd'][0] / summary['default'][0]:.2f}x, "
          f"mean step {summary['gkd'][1] / summary['default'][1]:.2f}x")


if __name__ == "__main__":
    main()
