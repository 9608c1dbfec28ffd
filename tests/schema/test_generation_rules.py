"""The `generation` section's cross-field rules, as `gkd validate` reports them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gkd_schema.config.validation import FileReport, validate_file


@pytest.fixture
def validate_text(tmp_path: Path):  # type: ignore[no-untyped-def]
    def _validate(text: str, name: str) -> FileReport:
        path = tmp_path / name
        path.write_text(text)
        return validate_file(path)

    return _validate


BASE = """\
model:
  name_or_path: Qwen/Qwen2.5-0.5B-Instruct
gkd:
  teacher_model_name_or_path: Qwen/Qwen2.5-1.5B-Instruct
data:
  train:
    path: data/train.jsonl
training:
  output_dir: runs/x
"""


def test_vllm_settings_with_the_transformers_backend_are_a_warning_at_their_line(validate_text: Any) -> None:
    report = validate_text(BASE + "generation:\n  vllm:\n    gpu_memory_utilization: 0.5\n", "cfg.yaml")
    assert report.valid
    warning = next(d for d in (report.errors + report.warnings) if d.type == "vllm_settings_unused")
    assert warning.severity == "warning" and warning.loc == ("generation", "vllm") and warning.line == 12


def test_the_default_generation_section_says_nothing(validate_text: Any) -> None:
    for text in (BASE, BASE + "generation:\n  backend: transformers\n", BASE + "generation:\n  backend: vllm\n"):
        report = validate_text(text, "cfg.yaml")
        findings = report.errors + report.warnings
        assert report.valid and not [d for d in findings if "vllm" in d.type], findings


def test_seq_kd_with_vllm_is_an_error_naming_both_fixes(validate_text: Any) -> None:
    report = validate_text(BASE.replace("-1.5B-Instruct\n", "-1.5B-Instruct\n  seq_kd: true\n  lmbda: 0.5\n")
                           + "generation:\n  backend: vllm\n", "cfg.yaml")
    error = next(d for d in (report.errors + report.warnings) if d.type == "seq_kd_needs_transformers_generation")
    assert error.loc == ("gkd", "seq_kd") and error.line == 5
    assert "`seq_kd: false`" in error.message and "`generation.backend: transformers`" in error.message


SERVER = "generation:\n  backend: vllm\n  vllm:\n    mode: server\n    server_url: http://127.0.0.1:8000\n"


def test_a_weight_broadcast_with_the_colocated_engine_is_an_error_at_its_line(validate_text: Any) -> None:
    report = validate_text(BASE + "generation:\n  backend: vllm\n  vllm:\n    weight_sync: nccl\n", "cfg.yaml")
    error = next(d for d in report.errors if d.type == "vllm_weight_sync_needs_server")
    assert error.loc == ("generation", "vllm", "weight_sync") and error.line == 13
    assert "set `mode: server` or remove `weight_sync`" in error.message


def test_a_rendezvous_address_without_a_broadcast_is_an_error_at_each_key(validate_text: Any) -> None:
    text = BASE + SERVER + "    weight_sync_host: 10.0.0.2\n    weight_sync_port: 51216\n"
    errors = [d for d in validate_text(text, "cfg.yaml").errors if d.type == "vllm_weight_sync_address_unused"]
    assert [(d.loc[-1], d.line) for d in errors] == [("weight_sync_host", 15), ("weight_sync_port", 16)]
    assert all("`weight_sync: nccl` or `gloo`" in d.message for d in errors)


@pytest.mark.parametrize("sync", ["nccl", "gloo"])
def test_a_broadcast_to_a_server_with_its_address_is_valid(validate_text: Any, sync: str) -> None:
    text = BASE + SERVER + f"    weight_sync: {sync}\n    weight_sync_host: 10.0.0.2\n    weight_sync_port: 51216\n"
    report = validate_text(text, "cfg.yaml")
    assert report.valid, report.errors


def test_a_port_out_of_range_and_a_host_with_a_space_are_type_errors(validate_text: Any) -> None:
    text = BASE + SERVER + "    weight_sync: gloo\n    weight_sync_host: 'my host'\n    weight_sync_port: 70000\n"
    report = validate_text(text, "cfg.yaml")
    assert {d.loc[-1] for d in report.errors} == {"weight_sync_host", "weight_sync_port"}, report.errors


def test_a_malformed_url_or_host_says_what_form_it_takes(validate_text: Any) -> None:
    text = BASE + "generation:\n  backend: vllm\n  vllm:\n    mode: server\n    server_url: 127.0.0.1:8000\n"
    text += "    weight_sync: gloo\n    weight_sync_host: '[::1]'\n"
    messages = {d.loc[-1]: d.message for d in validate_text(text, "cfg.yaml").errors}
    assert messages["server_url"].startswith("must be an http:// or https:// address such as")
    assert messages["weight_sync_host"] == "must be a host name or an IP address (IPv6 without brackets), got '[::1]'"
