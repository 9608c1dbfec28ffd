"""The start banner and end summary read as sentences and say what was measured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from gkd_schema.config.validation import validate_file
from gkd_schema.runner.generation.backend import GenerationStats
from gkd_schema.runner.preflight.run_plan import plan_run
from gkd_schema.runner.train.banner import dry_run_text, end_summary, start_banner
from gkd_schema.runner.train.callbacks import StepTimes
from gkd_schema.runner.train.data_loading import DataSummary
from gkd_schema.runner.train.on_policy_record import OnPolicyRecord

TRAIN_16 = DataSummary(rows={"train": 16}, formats={"train": "messages (detected)"})


def _plan(write_config: Any, tmp_path: Path, **sections: Any) -> Any:
    config = validate_file(write_config(tmp_path, **sections)).config
    assert config is not None
    return plan_run(config, base_dir=tmp_path)


@pytest.mark.parametrize(
    ("gkd", "said"),
    [
        ({"lmbda": 1.0}, "every batch student-generated;"),
        ({"lmbda": 0.0}, "no batch student-generated: all dataset completions;"),
        (
            {"lmbda": 0.25, "seq_kd": True},
            "25% of batches student-generated, the rest teacher-generated (seq_kd);",
        ),
    ],
)
def test_the_banner_reads_lmbda_as_a_sentence(
    write_config: Any, tmp_path: Path, gkd: dict[str, Any], said: str
) -> None:
    model = torch.nn.Linear(4, 4)
    banner = start_banner(_plan(write_config, tmp_path, gkd=gkd), model, model, TRAIN_16, 1)
    assert said in banner
    assert "  data       train 16 conversations (messages, detected)\n" in banner


def test_the_banner_names_a_top_k_teacher(write_config: Any, tmp_path: Path) -> None:
    model = torch.nn.Linear(4, 4)
    plan = _plan(write_config, tmp_path, teacher={"top_k": 16, "top_k_tail": False})
    banner = start_banner(plan, model, model, TRAIN_16, 1)
    assert "chunked generalized JSD, beta 0.5, on the teacher's top 16 tokens (renormalised, no tail)" in banner


def test_a_lora_student_shows_trainable_and_total_parameters(write_config: Any, tmp_path: Path) -> None:
    student = torch.nn.Sequential(torch.nn.Linear(100, 100), torch.nn.Linear(100, 10))
    student[0].requires_grad_(False)  # the frozen base
    banner = start_banner(_plan(write_config, tmp_path, peft={"r": 4}), student, student, TRAIN_16, 1)
    assert "(LoRA: 1,010 trainable of 11,110 params)" in banner


def test_the_banner_says_where_a_push_goes(write_config: Any, tmp_path: Path) -> None:
    model = torch.nn.Linear(4, 4)
    quiet = start_banner(_plan(write_config, tmp_path), model, model, TRAIN_16, 1)
    assert "  hub        " not in quiet
    plan = _plan(write_config, tmp_path, training={"push_to_hub": True, "hub_private_repo": True})
    banner = start_banner(plan, model, model, TRAIN_16, 1)
    assert "  hub        push to <your-namespace>/out (private; hub_strategy every_save;" in banner


@pytest.mark.parametrize(
    ("load_in_4bit", "said"), [(False, "peft       LoRA r=4"), (True, "peft       QLoRA (4-bit NF4 base) r=4")]
)
def test_the_plan_says_lora_or_qlora(write_config: Any, tmp_path: Path, load_in_4bit: bool, said: str) -> None:
    plan = _plan(write_config, tmp_path, peft={"r": 4, "load_in_4bit": load_in_4bit})
    assert said in dry_run_text(plan, TRAIN_16)


@pytest.mark.parametrize(
    ("seq_kd", "label"), [(False, "in on-policy generation"), (True, "student and seq_kd teacher")]
)
def test_the_summary_gives_mean_and_median_and_names_what_generated(
    write_config: Any, tmp_path: Path, seq_kd: bool, label: str
) -> None:
    plan = _plan(write_config, tmp_path, gkd={"seq_kd": seq_kd, "lmbda": 0.5})
    times = StepTimes(seconds=[9.0, 1.0, 2.0, 6.0], generation=[0.0, 0.5, 0.5, 1.0])
    record = OnPolicyRecord(decisions=[(0, 0, True), (1, 0, False)])
    summary = end_summary(plan, {"train_loss": 0.5}, times, record, None)
    assert "3.000 s mean, 2.000 s median" in summary  # the first (warm-up) step left out
    assert label in summary


def test_the_summary_reports_generation_and_sync_time_and_tokens_per_second(
    write_config: Any, tmp_path: Path
) -> None:
    plan = _plan(write_config, tmp_path)
    times = StepTimes(seconds=[1.0, 1.0], generation=[0.5, 0.5])
    stats = GenerationStats(generations=2, generate_seconds=0.5, completion_tokens=1000, syncs=2, sync_seconds=0.02)
    record = OnPolicyRecord(decisions=[(0, 0, True), (1, 0, True)], backend="vllm", stats=stats)
    summary = end_summary(plan, {}, times, record, None)
    assert "generation vllm: 0.50 s for 1,000 tokens (2,000 tokens/s); weight sync 0.02 s (2 syncs)" in summary


def test_the_banner_and_dry_run_name_the_generation_backend(write_config: Any, tmp_path: Path) -> None:
    plan = _plan(write_config, tmp_path, generation={"backend": "vllm", "vllm": {"max_model_len": 512}})
    text = dry_run_text(plan, DataSummary())
    assert "Generation: vLLM, colocated in the training process (max_model_len 512" in text
    default = dry_run_text(_plan(write_config, tmp_path), DataSummary())
    assert "Generation: transformers `generate` on the student" in default
