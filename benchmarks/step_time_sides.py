"""The three sides `step_time.py` runs, each in its own fresh process.

- `trl`: TRL's GKDTrainer with its defaults.
- `gkd`: `gkd run` (the library call behind the command).
- `gkd-fp32-teacher`: `gkd run` with the teacher loaded as float32.
- `gkd-bf16`: `gkd run` with `training.bf16: true` (what TRL's default would be).
- `floor`: the least an off-policy step can cost on this machine: the same batches
  through teacher forward, student forward and backward, gkd's loss and AdamW in plain
  PyTorch, with gkd's precision and optimizer and no trainer around it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEACHER = {"hidden_size": 256, "num_layers": 9, "seed": 1}
STUDENT = {"hidden_size": 128, "num_layers": 9, "seed": 2}
SHARED: dict[str, Any] = {
    "seed": 0,
    "lmbda": 0.5,
    "beta": 0.5,
    "temperature": 0.9,
    "max_new_tokens": 128,
    "per_device_train_batch_size": 8,
    "learning_rate": 1e-3,
    "max_length": 256,
}
DATA = {"short": "train.jsonl", "long": "train-long.jsonl"}


def build_assets(workdir: Path) -> None:
    """Tiny teacher, student and the two sets of 64 conversations under `workdir` (once)."""
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
    tiny_models.write_messages_jsonl(workdir / DATA["short"], rows=64)
    tiny_models.write_reversal_jsonl(
        workdir / DATA["long"], 64, alphabet="abcdefghijklmnopqrstuvwxyz", prompt="reverse "
    )


class Timing:
    """Step and generation clocks shared by all sides."""

    def __init__(self) -> None:
        self.steps: list[float] = []
        self.generation: list[float] = []
        self.gen_now = 0.0
        self.on_policy = 0
        self.tokens = 0  # completion tokens generated on-policy (labels that are not -100)


def instrument(timing: Timing) -> Any:
    """Time generation inside TRL's trainer and return a step-timing callback."""
    from transformers import TrainerCallback

    from gkd_schema.runner.preflight.trl_compat import gkd_classes

    _, trainer_cls = gkd_classes()
    original = trainer_cls.generate_on_policy_outputs

    def timed(model: Any, inputs: Any, generation_config: Any) -> Any:
        start = time.perf_counter()
        try:
            out = original(model, inputs, generation_config)
            timing.tokens += int((out[2] != -100).sum())
            return out
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
        from gkd_schema.runner.generation.on_policy import on_policy_decision

        on = on_policy_decision(SHARED["seed"], self.step, 0, SHARED["lmbda"])
        self.step += 1
        return 0.0 if on else 1.0  # TRL: on-policy when random() <= lmbda


def run_trl_defaults(workdir: Path, data: str, steps: int, timing: Timing) -> list[float]:
    """TRL's GKDTrainer with its defaults; returns the logged losses."""
    from datasets import load_dataset
    from transformers import AutoTokenizer

    from gkd_schema.runner.preflight.trl_compat import gkd_classes

    config_cls, trainer_cls = gkd_classes()
    sys.modules[trainer_cls.__module__].random = _SameDecisions()  # type: ignore[attr-defined]
    clock = instrument(timing)
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
        train_dataset=load_dataset("json", data_files=str(workdir / DATA[data]), split="train"),
        processing_class=AutoTokenizer.from_pretrained(str(workdir / "student")),
        callbacks=[clock],
    )
    trainer.train()
    return [e["loss"] for e in trainer.state.log_history if "loss" in e]


def _gkd_config(workdir: Path, data: str, steps: int, teacher_dtype: str = "auto", bf16: bool | None = None) -> Any:
    """The minimal gkd config of the same run."""
    from gkd_schema.models import RunConfig

    s = SHARED
    return RunConfig.model_validate(
        {
            "model": {"name_or_path": str(workdir / "student")},
            "gkd": {
                "teacher_model_name_or_path": str(workdir / "teacher"),
                "teacher_model_init_kwargs": {"dtype": teacher_dtype},
                **{k: s[k] for k in ("lmbda", "beta", "temperature", "max_new_tokens")},
            },
            "data": {"train": {"path": str(workdir / DATA[data])}},
            "training": {
                "output_dir": str(workdir / "out-gkd"),
                "max_steps": steps,
                "logging_steps": 1,
                "save_strategy": "no",
                **({} if bf16 is None else {"bf16": bf16}),
                **{k: s[k] for k in ("seed", "per_device_train_batch_size", "learning_rate", "max_length")},
            },
        }
    )


def run_gkd(
    workdir: Path, data: str, steps: int, timing: Timing, teacher_dtype: str = "auto", bf16: bool | None = None
) -> list[float]:
    """`gkd run` with a minimal config; returns the logged losses."""
    from transformers import TrainerCallback

    from gkd_schema.runner.train.run import execute

    clock = instrument(timing)
    captured: list[Any] = []

    class KeepLogs(TrainerCallback):  # type: ignore[misc]
        def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            captured.append(list(state.log_history))

    code = execute(_gkd_config(workdir, data, steps, teacher_dtype, bf16), base_dir=workdir, overwrite=True,
                   echo=lambda _l: None, callbacks=[clock, KeepLogs()])
    assert code == 0
    return [e["loss"] for e in captured[0] if "loss" in e]


def run_floor(workdir: Path, data: str, steps: int, timing: Timing) -> list[float]:
    """Off-policy steps in plain PyTorch on gkd's batches and models; returns the losses."""
    from gkd_schema.runner.loss.distillation import compute_distillation_loss
    from gkd_schema.runner.preflight.run_plan import plan_run
    from gkd_schema.runner.train.run import build_trainer, load_data

    config = _gkd_config(workdir, data, steps)
    plan = plan_run(config, base_dir=workdir, overwrite=True)
    train, _, _ = load_data(config, workdir)
    trainer, _ = build_trainer(plan, train, None)  # loads the models exactly as `gkd run` does
    model, teacher = trainer.model, trainer.teacher_model
    model.train()
    optimizer = trainer.create_optimizer()  # the optimizer `gkd run` trains with
    batches: list[Any] = []
    while len(batches) < steps:
        batches.extend(trainer.get_train_dataloader())
    losses = []
    for batch in batches[:steps]:
        start = time.perf_counter()
        loss = compute_distillation_loss(model, teacher, batch, beta=SHARED["beta"], temperature=1.0,
                                         implementation=config.gkd.loss_implementation)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        timing.steps.append(time.perf_counter() - start)
        timing.generation.append(0.0)
        losses.append(float(loss))
    return losses


def run_gkd_fp32_teacher(workdir: Path, data: str, steps: int, timing: Timing) -> list[float]:
    """`gkd run` with the teacher forced to float32, as on a CPU without native bf16.

    Against `run_gkd` it shows what keeping a bf16 teacher in bf16 gains on this CPU.
    """
    return run_gkd(workdir, data, steps, timing, teacher_dtype="float32")


def run_gkd_bf16(workdir: Path, data: str, steps: int, timing: Timing) -> list[float]:
    """`gkd run` with `training.bf16: true`: bf16 autocast for the student on this CPU."""
    return run_gkd(workdir, data, steps, timing, bf16=True)


SIDES = {
    "trl": run_trl_defaults,
    "gkd": run_gkd,
    "gkd-fp32-teacher": run_gkd_fp32_teacher,
    "gkd-bf16": run_gkd_bf16,
    "floor": run_floor,
}
