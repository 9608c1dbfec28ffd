"""Every config gkd accepts builds a GKDConfig TRL accepts; precision and extra_args rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from devices import AMPERE, CPU, TURING
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gkd_schema.models import RunConfig
from gkd_schema.runner.preflight.precision import DeviceInfo, choose_precision
from gkd_schema.runner.preflight.trainer_args import (
    TrainerArgsError,
    build_trainer_kwargs,
    make_gkd_config,
)
from gkd_schema.runner.preflight.trl_compat import gkd_config_fields

ROOT = Path(__file__).resolve().parents[2]


def _config(**sections: Any) -> RunConfig:
    data: dict[str, Any] = {
        "model": {"name_or_path": "./student"},
        "gkd": {"teacher_model_name_or_path": "./teacher"},
        "data": {"train": {"path": "train.jsonl"}},
        "training": {"output_dir": "out"},
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return RunConfig.model_validate(data)


def _build(config: RunConfig, device: DeviceInfo = CPU) -> Any:
    kwargs = build_trainer_kwargs(config, choose_precision(config, device), gkd_config_fields())
    import torch

    if device.kind == "cuda" and not torch.cuda.is_available():
        # transformers checks the real hardware: build a simulated GPU config on the CPU.
        return kwargs, make_gkd_config({**kwargs, "use_cpu": True})
    return kwargs, make_gkd_config(kwargs)


def test_defaults_build_a_fast_cpu_gkdconfig() -> None:
    kwargs, args = _build(_config())
    assert (args.bf16, args.fp16, args.gradient_checkpointing) == (False, False, False)
    assert "gradient_checkpointing" not in kwargs  # renamed in transformers 5: no warning
    assert args.teacher_model_init_kwargs["dtype"] == "float32"
    assert args.lmbda == 0.5 and args.max_length == 1024
    assert kwargs["teacher_model_init_kwargs"]["trust_remote_code"] is False


@pytest.mark.parametrize(
    ("device", "label", "student_dtype"),
    [(CPU, "fp32", "float32"), (AMPERE, "bf16", "auto"), (TURING, "fp32", "auto")],
)
def test_precision_follows_the_device(device: DeviceInfo, label: str, student_dtype: str) -> None:
    precision = choose_precision(_config(), device)
    assert precision.label == label and precision.student_dtype == student_dtype
    assert "chosen" in precision.reason


def test_explicit_precision_wins() -> None:
    precision = choose_precision(_config(training={"output_dir": "o", "bf16": True}), CPU)
    assert precision.label == "bf16" and precision.reason == "set in the config"
    precision = choose_precision(_config(training={"output_dir": "o", "bf16": False}), AMPERE)
    assert precision.label == "fp32"


def test_warmup_ratio_maps_to_installed_transformers() -> None:
    _, args = _build(_config(training={"output_dir": "o", "warmup_ratio": 0.1, "max_steps": 50}))
    assert args.get_warmup_steps(50) == 5
    _, args = _build(_config(training={"output_dir": "o", "warmup_ratio": 1.0, "max_steps": 50}))
    assert args.get_warmup_steps(50) == 50


def test_extra_args_pass_through() -> None:
    _, args = _build(_config(training={"output_dir": "o", "extra_args": {"optim": "adafactor"}}))
    assert getattr(args.optim, "value", args.optim) == "adafactor"


def test_hub_keys_reach_gkdconfig() -> None:
    hub = {"push_to_hub": True, "hub_model_id": "me/qwen-gkd", "hub_private_repo": True, "hub_strategy": "checkpoint"}
    kwargs, args = _build(_config(training={"output_dir": "o", **hub}))
    assert {key: kwargs[key] for key in hub} == hub
    assert (args.push_to_hub, args.hub_model_id, args.hub_private_repo) == (True, "me/qwen-gkd", True)
    assert getattr(args.hub_strategy, "value", args.hub_strategy) == "checkpoint"
    assert args.hub_token is None  # read from HF_TOKEN or the token file by transformers


def test_without_push_the_hub_keys_are_transformers_defaults() -> None:
    _, args = _build(_config())
    assert (args.push_to_hub, args.hub_model_id, args.hub_private_repo) == (False, None, None)
    assert getattr(args.hub_strategy, "value", args.hub_strategy) == "every_save"


@pytest.mark.parametrize(
    ("key", "kind", "fragment"),
    [
        ("lerning_rate_warmup", "unknown_extra_arg", "not an argument"),
        ("lr_schedular_kwargs", "unknown_extra_arg", "did you mean `lr_scheduler_kwargs`"),
        ("learning_rate", "extra_arg_shadows_key", "`training.learning_rate`"),
        ("lmbda", "extra_arg_shadows_key", "`gkd.lmbda`"),
        ("resume_from_checkpoint", "extra_arg_owned", "training.resume"),
        ("push_to_hub", "extra_arg_shadows_key", "`training.push_to_hub`"),
        ("hub_strategy", "extra_arg_shadows_key", "`training.hub_strategy`"),
        ("hub_token", "extra_arg_owned", "`HF_TOKEN` or `hf auth login`"),
    ],
)
def test_bad_extra_args_are_named(key: str, kind: str, fragment: str) -> None:
    config = _config(training={"output_dir": "o", "extra_args": {key: 1}})
    with pytest.raises(TrainerArgsError) as info:
        _build(config)
    [d] = info.value.diagnostics
    assert d.loc == ("training", "extra_args", key) and d.type == kind
    assert fragment in d.message


def test_value_trl_rejects_is_an_error_not_a_traceback() -> None:
    config = _config(training={"output_dir": "o", "extra_args": {"optim": "not-an-optimizer"}})
    kwargs = build_trainer_kwargs(config, choose_precision(config, CPU), gkd_config_fields())
    with pytest.raises(TrainerArgsError) as info:
        make_gkd_config(kwargs, extra_keys=config.training.extra_args)
    assert info.value.diagnostics[0].type == "trl_config_error"


def test_example_configs_build(monkeypatch: pytest.MonkeyPatch) -> None:
    from gkd_schema.config.validation import validate_file

    # examples/accelerate/ holds accelerate configs, not gkd configs (tests/runner/test_accelerate_recipes.py).
    examples = sorted(p for p in ROOT.glob("examples/**/*.yaml") if p.relative_to(ROOT).parts[1] != "accelerate")
    for path in examples:
        monkeypatch.chdir(path.parent)
        report = validate_file(path)
        assert report.config is not None, report.errors
        _build(report.config)
        _build(report.config, AMPERE)


_training = st.fixed_dictionaries(
    {"output_dir": st.just("out")},
    optional={
        "learning_rate": st.floats(1e-7, 1.0),
        "per_device_train_batch_size": st.integers(1, 64),
        "gradient_accumulation_steps": st.integers(1, 16),
        "num_train_epochs": st.floats(0.01, 10),
        "max_steps": st.integers(1, 10_000),
        "lr_scheduler_type": st.sampled_from(["linear", "cosine", "constant", "inverse_sqrt"]),
        "warmup_ratio": st.floats(0.0, 1.0),
        "warmup_steps": st.integers(0, 100),
        "weight_decay": st.floats(0.0, 1.0),
        "max_grad_norm": st.floats(0.0, 10.0),
        "bf16": st.none() | st.booleans(),
        "gradient_checkpointing": st.booleans(),
        "max_length": st.integers(600, 4096),
        "logging_steps": st.integers(1, 100),
        "save_strategy": st.sampled_from(["no", "steps", "epoch"]),
        "save_steps": st.integers(1, 1000),
        "save_total_limit": st.none() | st.integers(1, 5),
        "seed": st.integers(0, 2**31),
        "resume": st.sampled_from(["never", "auto"]),
        "push_to_hub": st.booleans(),
        "hub_model_id": st.none() | st.sampled_from(["me/qwen-gkd", "qwen-gkd"]),
        "hub_private_repo": st.none() | st.booleans(),
        "hub_strategy": st.sampled_from(["end", "every_save", "checkpoint", "all_checkpoints"]),
    },
)
_gkd = st.fixed_dictionaries(
    {"teacher_model_name_or_path": st.just("org/teacher")},
    optional={
        "temperature": st.floats(0.01, 1.0),
        "lmbda": st.floats(0.0, 1.0),
        "beta": st.floats(0.0, 1.0),
        "max_new_tokens": st.integers(1, 512),
        "disable_dropout": st.booleans(),
        "seq_kd": st.booleans(),
        "teacher_model_init_kwargs": st.sampled_from([{}, {"dtype": "bfloat16"}, {"dtype": "auto"}]),
        "loss_implementation": st.sampled_from(["chunked", "fused", "trl"]),
    },
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(training=_training, gkd=_gkd, device=st.sampled_from([CPU, AMPERE, TURING]))
def test_generated_valid_configs_build_trl_gkdconfig(
    training: dict[str, Any], gkd: dict[str, Any], device: DeviceInfo
) -> None:
    if training.get("bf16") and device is not AMPERE:
        training["bf16"] = None  # bf16 on a non-bf16 device is a preflight error, not TRL's
    config = _config(training=training, gkd=gkd)
    kwargs, args = _build(config, device)
    assert args.lmbda == config.gkd.lmbda and args.beta == config.gkd.beta
    assert args.max_new_tokens == config.gkd.max_new_tokens
    assert args.bf16 == kwargs["bf16"]
