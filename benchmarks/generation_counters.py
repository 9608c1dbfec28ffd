"""Where an on-policy step's time goes, for `generation.py`'s step sides.

`Counters` adds up seconds by kind: class-level wrappers around the trainers' methods and
forward hooks on the two decoders, read by a callback at every step end.
"""

from __future__ import annotations

import time
from typing import Any


class Counters:
    """Seconds (and completion tokens) by kind, added up by wrappers; a snapshot per step end."""

    def __init__(self) -> None:
        from collections import defaultdict

        self.total: dict[str, float] = defaultdict(float)
        self.in_loss = False
        self._hooked: set[int] = set()
        self.begins: list[float] = []
        self.ends: list[float] = []
        self.snapshots: list[dict[str, float]] = []

    def wrap(self, owner: type, name: str, key: str, tokens: Any = None) -> None:
        """Time `owner.name` (a method or staticmethod) under `key`; `tokens(args, result)` counts tokens."""
        import functools
        import inspect

        raw = inspect.getattr_static(owner, name)
        fn = raw.__func__ if isinstance(raw, staticmethod) else raw
        total = self.total

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                result = fn(*args, **kwargs)
            finally:
                total[key] += time.perf_counter() - start
            if tokens is not None:
                total["tokens"] += tokens(args, result)
            return result

        setattr(owner, name, staticmethod(timed) if isinstance(raw, staticmethod) else timed)

    def wrap_common(self) -> None:
        """The parts of `Trainer`'s loop every side shares."""
        from accelerate import Accelerator
        from transformers import Trainer

        self.wrap(Trainer, "get_batch_samples", "data")
        self.wrap(Trainer, "_clip_grad_norm", "clip")
        self.wrap(Trainer, "_maybe_log_save_evaluate", "log")
        self.wrap(Accelerator, "backward", "backward")

    def wrap_loss(self, trainer_cls: type) -> None:
        """Time `compute_loss`, and inside it the student's and the teacher's decoder forwards."""
        original, counters = trainer_cls.compute_loss, self  # type: ignore[attr-defined]

        def compute_loss(trainer: Any, model: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
            counters._hook(model, "student decoder forward")
            counters._hook(trainer.teacher_model, "teacher decoder forward")
            start, counters.in_loss = time.perf_counter(), True
            try:
                return original(trainer, model, inputs, *args, **kwargs)
            finally:
                counters.in_loss = False
                counters.total["compute_loss"] += time.perf_counter() - start

        trainer_cls.compute_loss = compute_loss  # type: ignore[attr-defined]

    def _hook(self, model: Any, key: str) -> None:
        decoder = getattr(model, "module", model).base_model  # the decoder, without the LM head
        if id(decoder) in self._hooked:
            return
        self._hooked.add(id(decoder))
        starts: list[float] = []

        def after(*_: Any) -> None:
            began = starts.pop()
            if self.in_loss:  # not the forwards of transformers' `generate`
                self.total[key] += time.perf_counter() - began

        decoder.register_forward_pre_hook(lambda *_: starts.append(time.perf_counter()))
        decoder.register_forward_hook(after)

    def callback(self) -> Any:
        """A `TrainerCallback` that stamps step begin and end, and times `optimizer.step()`."""
        from transformers import TrainerCallback

        counters = self

        class Clock(TrainerCallback):
            def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                counters.begins.append(time.perf_counter())

            def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                self.optimizer_start = time.perf_counter()

            def on_optimizer_step(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                counters.total["optimizer step"] += time.perf_counter() - self.optimizer_start

            def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                counters.ends.append(time.perf_counter())
                counters.snapshots.append(dict(counters.total))

        return Clock()

    def per_step(self) -> dict[str, list[float]]:
        """Per step: `wall` (step end to step end; the first from its begin) and every counter's share."""
        keys = sorted({k for snap in self.snapshots for k in snap})
        rows: dict[str, list[float]] = {"wall": [], **{k: [] for k in keys}}
        for i, (end, snap) in enumerate(zip(self.ends, self.snapshots, strict=True)):
            rows["wall"].append(end - (self.ends[i - 1] if i else self.begins[0]))
            before = self.snapshots[i - 1] if i else {}
            for k in keys:
                rows[k].append(snap.get(k, 0.0) - before.get(k, 0.0))
        return rows
