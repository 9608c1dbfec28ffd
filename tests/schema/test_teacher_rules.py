"""The `teacher` section's cross-field rules (server and cross-tokenizer teachers), as `gkd validate` reports them."""

from __future__ import annotations

from pathlib import Path

import pytest

from gkd_schema.config.validation import validate_file

BASE = """\
model:
  name_or_path: Qwen/Qwen2.5-0.5B-Instruct
gkd:
  teacher_model_name_or_path: meta-llama/Llama-3.2-3B-Instruct
data:
  train:
    path: data/train.jsonl
training:
  output_dir: runs/x
"""
SERVER = "teacher:\n  backend: server\n  server_url: http://127.0.0.1:8001\n"


def _found(tmp_path: Path, text: str, *sets: str) -> dict[str, tuple[str, tuple[str | int, ...]]]:
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    report = validate_file(path, list(sets), environ={})
    return {d.type: (d.severity, d.loc) for d in report.errors + report.warnings}


@pytest.mark.parametrize(
    ("text", "sets", "expected"),
    [
        (BASE + SERVER, (), {"teacher_server_needs_top_k": ("error", ("teacher", "top_k"))}),
        (BASE + SERVER + "  top_k: 20\n", ("gkd.seq_kd=true",),
         {"seq_kd_needs_local_teacher": ("error", ("gkd", "seq_kd"))}),
        (BASE + "teacher:\n  prefetch: false\n", (),
         {"teacher_server_setting_unused": ("warning", ("teacher", "prefetch"))}),
        (BASE + SERVER + "  top_k: 20\n", ("gkd.teacher_model_init_kwargs={}",),
         {"teacher_init_kwargs_unused": ("warning", ("gkd", "teacher_model_init_kwargs"))}),
        (BASE + "teacher:\n  cross_tokenizer: uld\n  top_k: 8\n", (),
         {"cross_tokenizer_with_top_k": ("error", ("teacher", "top_k"))}),
        (BASE + SERVER + "  top_k: 8\n  cross_tokenizer: uld\n", (),
         {"cross_tokenizer_with_server": ("error", ("teacher", "backend")),
          "cross_tokenizer_with_top_k": ("error", ("teacher", "top_k"))}),
        (BASE + "teacher:\n  cross_tokenizer: uld\n", ("gkd.seq_kd=true",),
         {"seq_kd_needs_shared_tokenizer": ("error", ("gkd", "seq_kd"))}),
        (BASE + "teacher:\n  cross_tokenizer: uld\n", ("gkd.loss_implementation=fused",),
         {"cross_tokenizer_ignores_loss_implementation": ("warning", ("gkd", "loss_implementation"))}),
    ],
)
def test_each_rule_reports_its_key(tmp_path: Path, text: str, sets: tuple[str, ...], expected: dict) -> None:  # type: ignore[type-arg]
    found = _found(tmp_path, text, *sets)
    assert {k: v for k, v in found.items() if k in expected} == expected, found


def test_a_server_url_without_the_server_backend_is_refused_at_the_url(tmp_path: Path) -> None:
    found = _found(tmp_path, BASE + "teacher:\n  server_url: http://127.0.0.1:8001\n")
    assert found["teacher_server_url_unused"] == ("error", ("teacher", "server_url"))


def test_the_server_backend_without_a_url_is_refused_at_the_backend(tmp_path: Path) -> None:
    found = _found(tmp_path, BASE + "teacher:\n  backend: server\n  top_k: 20\n")
    assert found["teacher_server_url_missing"] == ("error", ("teacher", "backend"))


def test_a_complete_server_teacher_and_a_cross_tokenizer_teacher_are_valid(tmp_path: Path) -> None:
    assert _found(tmp_path, BASE + SERVER + "  top_k: 20\n") == {}
    assert _found(tmp_path, BASE + "teacher:\n  cross_tokenizer: uld\n") == {}
