"""gkd's trainer: synchronized on-policy decisions, KV-cache generation, warning dedup."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import pytest

from gkd_schema.runner.generation.on_policy import on_policy_decision
from gkd_schema.runner.train.warning_dedup import one_warning_per_kind


def test_decision_is_a_function_of_seed_and_step() -> None:
    first = [on_policy_decision(7, step, 0, 0.5) for step in range(200)]
    assert first == [on_policy_decision(7, step, 0, 0.5) for step in range(200)]
    assert first != [on_policy_decision(8, step, 0, 0.5) for step in range(200)]
    assert 70 < sum(first) < 130  # about lmbda of the batches


def test_decision_extremes() -> None:
    assert not any(on_policy_decision(0, s, m, 0.0) for s in range(50) for m in range(2))
    assert all(on_policy_decision(0, s, m, 1.0) for s in range(50) for m in range(2))


def test_decision_independent_of_hash_seed() -> None:
    import subprocess
    import sys

    code = (
        "from gkd_schema.runner.generation.on_policy import on_policy_decision as d; "
        "print([d(3, s, 1, .5) for s in range(20)])"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code], env={"PYTHONHASHSEED": seed, "PATH": ""},
            capture_output=True, text=True, check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outs) == 1


def test_one_warning_per_kind() -> None:
    handler_records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            handler_records.append(record)

    logger = logging.getLogger("gkd-test-dedup")
    logger.setLevel(logging.INFO)
    handler = Collect()
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught, one_warning_per_kind():
            for step in range(5):
                warnings.warn("deprecated thing", FutureWarning, stacklevel=1)
                logger.warning("generation_config deprecated")
                logger.info("step %d", step)
            warnings.warn("another thing", FutureWarning, stacklevel=1)
    finally:
        logger.removeHandler(handler)
    assert [str(w.message) for w in caught] == ["deprecated thing", "another thing"]
    messages = [r.getMessage() for r in handler_records]
    assert messages.count("generation_config deprecated") == 1
    assert sum(m.startswith("step") for m in messages) == 5


@pytest.mark.slow
def test_generation_uses_kv_cache_under_gradient_checkpointing(
    write_config: Any, tmp_path: Path
) -> None:
    from gkd_schema.config.validation import validate_file
    from gkd_schema.runner.preflight.run_plan import plan_run
    from gkd_schema.runner.train.run import build_trainer, load_data

    cfg = write_config(tmp_path, training={"gradient_checkpointing": True, "max_steps": 2},
                       gkd={"lmbda": 1.0})
    config = validate_file(cfg).config
    assert config is not None
    plan = plan_run(config, base_dir=tmp_path)
    train, _, _ = load_data(config, tmp_path)
    trainer, _ = build_trainer(plan, train, None)
    seen: list[tuple[bool, bool]] = []
    model = trainer.model
    original = model.generate

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append((kwargs["generation_config"].use_cache, model.is_activation_checkpointing))
        return original(*args, **kwargs)

    model.generate = spy
    trainer.train()
    # Every step generated, with the cache, while checkpointing was off for generation ...
    assert seen == [(True, False), (True, False)]
    # ... and checkpointing is back on for the backward pass.
    assert model.is_activation_checkpointing
    assert [d[2] for d in trainer.on_policy.decisions] == [True, True]
