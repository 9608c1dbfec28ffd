"""Step time of `gkd run` against TRL's GKDTrainer with its defaults, side by side.

Both train the same tiny local teacher (~5.3M parameters) and student (~1.4M), built
here with `tests/tiny_models.py`, on the same conversations with the same seed,
batch size, learning rate, lmbda, max_new_tokens and step count. TRL keeps its own
defaults for everything else (bf16 on, gradient checkpointing on, teacher dtype
auto); `use_cpu=True` is passed to TRL only because transformers refuses bf16
without it on a CPU-only machine. Each side runs in a fresh process; generation
time is measured the same way for both (a timer around
`GKDTrainer.generate_on_policy_outputs`, which gkd's trainer inherits), and TRL's
per-process coin is replaced by gkd's seeded decisions so both sides generate on
the same steps. The checkpoints are stored in bfloat16, as real Hub checkpoints are.

Usage:

    python benchmarks/step_time.py [--steps 10] [--workdir DIR]

Prints a table: median and mean step time (first step left out), the share of step
time spent in on-policy generation, on-policy steps taken, and the loss.
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

ROOT = Path(__file__).resolve().parent.parent
TEACHER = {"hidden_size": 256, "num_layers": 9, "seed": 1}
STUDENT = {"hidden_size": 128, "num_layers": 9, "seed": 2}
SHARED = {
    "seed": 0,
    "lmbda": 0.5,
    "beta": 0.5,
    "temperature": 0.9,
    "max_new_tokens": 128,
    "per_device_train_batch_size": 8,
    "learning_rate": 1e-3,
    "max_length": 256,
}


def build_assets(workdir: Path) -> None:
    """Tiny teacher, student and 64 conversations under `workdir` (once)."""
    sys.path.insert(0, str(ROOT / "tests"))
    import tiny_models

    if not (workdir / "teacher" / "config.json").exists():
        import torch
        from transformers import AutoModelForCausalLM

        for name, spec in (("teacher", TEACHER), ("student", STUDENT)):
            tiny_models.build_model(workdir / name, **spec)
            # Stored in bfloat16, as real checkpoints on the Hub are.
            model = AutoModelForCausalLM.from_pretrained(str(workdir / name), dtype=torch.float32)
            model.to(torch.bfloat16).save_pretrained(str(workdir / name))
    tiny_models.write_messages_jsonl(workdir / "train.jsonl", rows=64)


class _Timing:
    """Step and generation clocks shared by both sides."""

    def __init__(self) -> None:
        self.steps: list[float] = []
        self.generation: list[float] = []
        self.gen_now = 0.0
        self.on_policy = 0


def _instrument(timing: _Timing) -> Any:
    """Time generation inside TRL's trainer and return a step-timing callback."""
    from transformers import TrainerCallback

    from gkd_schema.runner.trl_compat import gkd_classes

    _, trainer_cls = gkd_classes()
    original = trainer_cls.generate_on_policy_outputs

    def timed(model: Any, inputs: Any, generation_config: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(model, inputs, generation_config)
        finally:
            timing.gen_now += time.perf_counter() - start
            timing.on_policy += 1

    trainer_cls.generate_on_policy_outputs = staticmethod(timed)

    class StepClock(TrainerCallback):  # type: ignore[misc]
        def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.start, self.gen_start = time.perf_counter(), timing.gen_now

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            timing.steps.append(time.perf_counter() - self.start)
            timing.generation.append(timing.gen_now - self.gen_start)

    return StepClock()


class _SameDecisions:
    """Stands in for `random` inside TRL's trainer so it draws gkd's on-policy batches.

    Without it the two sides would generate on different numbers of steps and their
    step times would not compare like for like.
    """

    def __init__(self) -> None:
        self.step = 0

    def random(self) -> float:
        from gkd_schema.runner.on_policy import on_policy_decision

        on = on_policy_decision(SHARED["seed"], self.step, 0, SHARED["lmbda"])
        self.step += 1
        return 0.0 if on else 1.0  # TRL: on-policy when random() <= lmbda


def run_trl_defaults(workdir: Path, steps: int, timing: _Timing) -> list[float]:
    """TRL's GKDTrainer with its defaults; returns the logged losses."""
    from datasets import load_dataset
    from transformers import AutoTokenizer

    from gkd_schema.runner.trl_compat import gkd_classes

    config_cls, trainer_cls = gkd_classes()
    sys.modules[trainer_cls.__module__].random = _SameDecisions()  # type: ignore[attr-defined]
    clock = _instrument(timing)
    args = config_cls(
        output_dir=str(workdir / "out-trl"),
        max_steps=steps,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        **{k: SHARED[k] for k in ("seed", "lmbda", "beta", "temperature", "max_new_tokens",
                                  "per_device_train_batch_size", "learning_rate", "max_length")},
    )
    trainer = trainer_cls(
        model=str(workdir / "student"),
        teacher_model=str(workdir / "teacher"),
        args=args,
        train_dataset=load_dataset("json", data_files=str(workdir / "train.jsonl"), split="train"),
        processing_class=AutoTokenizer.from_pretrained(str(workdir / "student")),
        callbacks=[clock],
    )
    trainer.train()
    return [e["loss"] for e in trainer.state.log_history if "loss" in e]


def run_gkd(workdir: Path, steps: int, timing: _Timing) -> list[float]:
    """`gkd run` (the library call behind the command) with a minimal config."""
    from gkd_schema.models import RunConfig
    from gkd_schema.runner.run import execute

    clock = _instrument(timing)
    s = SHARED
    config = RunConfig.model_validate(
        {
            "model": {"name_or_path": str(workdir / "student")},
            "gkd": {
                "teacher_model_name_or_path": str(workdir / "teacher"),
                **{k: s[k] for k in ("lmbda", "beta", "temperature", "max_new_tokens")},
            },
            "data": {"train": {"path": str(workdir / "train.jsonl")}},
            "training": {
                "output_dir": str(workdir / "out-gkd"),
                "max_steps": steps,
                "logging_steps": 1,
                "save_strategy": "no",
                **{k: s[k] for k in ("seed", "per_device_train_batch_size", "learning_rate",
                                     "max_length")},
            },
        }
    )
    captured: list[Any] = []

    from transformers import TrainerCallback

    class KeepLogs(TrainerCallback):  # type: ignore[misc]
        def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            captured.append(list(state.log_history))

    code = execute(config, base_dir=workdir, overwrite=True, echo=lambda _l: None,
                   callbacks=[clock, KeepLogs()])
    assert code == 0
    return [e["loss"] for e in captured[0] if "loss" in e]


def _child(side: str, workdir: Path, steps: int) -> None:
    """Run one side and print its measurements as JSON on the last line."""
    timing = _Timing()
    losses = (run_trl_defaults if side == "trl" else run_gkd)(workdir, steps, timing)
    print(json.dumps({"steps": timing.steps, "generation": timing.generation,
                      "on_policy": timing.on_policy, "losses": losses}))


def _summary(name: str, data: dict[str, Any]) -> dict[str, Any]:
    steps = data["steps"][1:]  # the first step pays for lazy initialisation
    gens = data["generation"][1:]
    # The two sides draw different on-policy batches (TRL flips a coin per process,
    # gkd derives it from seed and step), so compare each kind of step separately too.
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


def main() -> None:
    """Build the assets, run both sides in fresh processes, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--side", choices=["trl", "gkd"], help=argparse.SUPPRESS)
    ns = parser.parse_args()
    workdir = ns.workdir or Path(tempfile.mkdtemp(prefix="gkd-step-time-"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    if ns.side:
        _child(ns.side, workdir, ns.steps)
        return
    build_assets(workdir)
    print(f"teacher {_params(workdir / 'teacher')}, student {_params(workdir / 'student')} parameters")
    rows = []
    for side, name in (("trl", "TRL GKDTrainer defaults"), ("gkd", "gkd run")):
        proc = subprocess.run(
            [sys.executable, __file__, "--side", side, "--steps", str(ns.steps),
             "--workdir", str(workdir)],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            sys.exit(f"{name} failed:\n{proc.stderr[-4000:]}")
        rows.append(_summary(name, json.loads(proc.stdout.strip().splitlines()[-1])))
    print(f"{ns.steps} steps, batch {SHARED['per_device_train_batch_size']}, lmbda "
          f"{SHARED['lmbda']}, {SHARED['max_new_tokens']} new tokens; first step left out\n")
    print("| run | median s/step | mean s/step | median on-policy step | median off-policy "
          "step | generation share | on-policy steps | first loss | mean of last 3 losses |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} | {r['median']:.3f} | {r['mean']:.3f} | {r['on_median']:.3f} "
              f"| {r['off_median']:.3f} | {r['gen_share']:.0%} | {r['on_policy']} "
              f"| {r['first_loss']:.4g} | {r['last3_loss']:.4g} |")
    trl, gkd = rows
    for key, label in (("median", "median step"), ("mean", "mean step"),
                       ("on_median", "median on-policy step"),
                       ("off_median", "median off-policy step")):
        print(f"gkd run {label} = {gkd[key] / trl[key]:.2f}x TRL defaults' (target <= 0.25x)")


if __name__ == "__main__":
    main()
