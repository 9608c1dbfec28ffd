"""Class 5 of issue 16: a section with several broken rules reports every one of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gkd_schema.config.validation import validate_file
from gkd_schema.models import RunConfig

# A local file with a split (a source rule), in the alpaca format.
HEAD = """\
model:
  name_or_path: Qwen/Qwen2.5-0.5B-Instruct
gkd:
  teacher_model_name_or_path: Qwen/Qwen2.5-1.5B-Instruct
data:
  train:
    path: data/train.jsonl
    split: test
    format: alpaca
"""
SEVERAL_IN_ONE_SECTION = HEAD + """\
    columns:
      question: q
      answer: a
training:
  output_dir: runs/x
  bf16: true
  fp16: true
  eval_strategy: steps
"""


def test_every_broken_rule_of_a_section_is_reported_at_its_key(tmp_path: Path) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text(SEVERAL_IN_ONE_SECTION, encoding="utf-8")
    report = validate_file(path, environ={})
    found = {(d.loc, d.type, d.line) for d in report.errors}
    assert found == {
        (("data", "train", "split"), "data_source", 8),
        (("data", "train", "columns", "question"), "unknown_format_column", 11),
        (("data", "train", "columns", "answer"), "unknown_format_column", 12),
        (("training", "fp16"), "precision_conflict", 16),
        # `eval_steps` is not written: the error sits on the section that lacks it.
        (("training", "eval_steps"), "missing_eval_steps", 13),
    }


def test_cross_field_errors_of_the_model_carry_a_list_of_keys() -> None:
    """`RunConfig` raises every failing rule, each `loc` a tuple of keys (no dotted string)."""
    data = {
        "model": {"name_or_path": "Qwen/Qwen2.5-0.5B-Instruct"},
        "gkd": {"teacher_model_name_or_path": "Qwen/Qwen2.5-1.5B-Instruct", "max_new_tokens": 2048},
        "data": {"train": {"path": "data/train.jsonl"}},
        "training": {"output_dir": "runs/x", "max_length": 1024, "eval_strategy": "epoch"},
    }
    with pytest.raises(ValidationError) as info:
        RunConfig.model_validate(data)
    errors = info.value.errors(include_url=False)
    assert {e["type"] for e in errors} >= {"no_room_for_prompt", "eval_without_data"}
    for error in errors:
        assert all(isinstance(part, (str, int)) and "." not in str(part) for part in error["loc"])
        assert "loc" not in error.get("ctx", {})


BESIDE_FIELD_ERRORS = HEAD + """\
    columns: 5
training:
  output_dir: runs/x
  bf16: true
  fp16: true
  learning_rate: "fast"
teacher:
  backend: server
  top_k: 0
generation:
  backend: vllm
  vllm:
    mode: server
    weight_sync_port: 51216
    gpu_memory_utilization: 2
"""


def test_a_section_with_a_field_error_still_reports_its_rules_whose_keys_are_valid(tmp_path: Path) -> None:
    # pydantic skips a model's validators when one of its fields is invalid: each section's
    # rules run anyway, on its valid keys, beside the field errors.
    path = tmp_path / "cfg.yaml"
    path.write_text(BESIDE_FIELD_ERRORS, encoding="utf-8")
    found = {(d.loc, d.type, d.line) for d in validate_file(path, environ={}).errors}
    rules = {
        (("data", "train", "split"), "data_source", 8),
        (("training", "fp16"), "precision_conflict", 14),
        (("teacher", "backend"), "teacher_server_url_missing", 17),
        (("generation", "vllm", "mode"), "vllm_server_url_missing", 22),
        (("generation", "vllm", "weight_sync_port"), "vllm_weight_sync_address_unused", 23),
    }
    assert rules <= found, found
    fields = {(loc, line) for loc, _, line in found - rules}
    assert fields == {
        (("data", "train", "columns"), 10),
        (("training", "learning_rate"), 15),
        (("teacher", "top_k"), 18),
        (("generation", "vllm", "gpu_memory_utilization"), 24),
    }, found


def test_a_rule_that_reads_an_invalid_key_is_not_reported(tmp_path: Path) -> None:
    # `columns` is broken, so the rule on `columns` and `format` would only guess.
    path = tmp_path / "cfg.yaml"
    text = BESIDE_FIELD_ERRORS.replace("    mode: server\n", "    mode: servr\n")
    path.write_text(text, encoding="utf-8")
    found = {d.type for d in validate_file(path, environ={}).errors}
    assert "unknown_format_column" not in found and "columns_without_format" not in found
    # `mode` is misspelt: neither `server_url` rule speaks (it would say the opposite of the fix).
    assert not {"vllm_server_url_missing", "vllm_server_url_unused"} & found, found
