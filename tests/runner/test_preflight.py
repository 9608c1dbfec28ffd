"""`run_preflight` end to end on tiny local models: one test per failure it must catch.

Variants (another vocabulary, no chat template, no pad token) are copies of the
session's tiny models with one file changed; no weights are ever loaded.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gkd_schema.config.diagnostics import Diagnostic
from gkd_schema.models import RunConfig
from gkd_schema.models.teacher_section import TeacherSection
from gkd_schema.runner.preflight import run_preflight

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tiny_models
from hub_cache import fake_hub_model

TEACHER = ("gkd", "teacher_model_name_or_path")
STUDENT = ("model", "name_or_path")


def _config(student: Path | str, teacher: Path | str, train: Path | str, **sections: Any) -> RunConfig:
    raw: dict[str, Any] = {
        "model": {"name_or_path": str(student), "dtype": "float32"},
        "gkd": {"teacher_model_name_or_path": str(teacher), "max_new_tokens": 8},
        "data": {"train": {"path": str(train)}},
        "training": {"output_dir": "out", "max_length": 64, "per_device_train_batch_size": 2},
    }
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    return RunConfig.model_validate(raw)


def _kinds(diagnostics: list[Diagnostic]) -> list[tuple[str, str, tuple[str | int, ...]]]:
    return [(d.type, d.severity, d.loc) for d in diagnostics]


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


@pytest.fixture
def base(tmp_path: Path, tiny_student_dir: Path, tiny_teacher_dir: Path, messages_jsonl: Path) -> Path:
    """A run directory with ./student, ./teacher and data/train.jsonl (relative paths)."""
    (tmp_path / "student").symlink_to(tiny_student_dir)
    (tmp_path / "teacher").symlink_to(tiny_teacher_dir)
    (tmp_path / "data").mkdir()
    shutil.copy(messages_jsonl, tmp_path / "data" / "train.jsonl")
    return tmp_path


def _run(base: Path, **kwargs: Any) -> list[Diagnostic]:
    config = kwargs.pop("config", None) or _config("./student", "./teacher", "data/train.jsonl")
    return run_preflight(config, base_dir=base, **kwargs)


def test_clean_config_passes_quickly(base: Path) -> None:
    _run(base)  # warm the imports (transformers), which the budget below excludes
    start = time.perf_counter()
    assert _run(base) == []
    assert time.perf_counter() - start < 5.0


def test_vocab_mismatch(base: Path) -> None:
    teacher = _copy(base / "teacher", base / "other-teacher")
    config = json.loads((teacher / "config.json").read_text())
    config["vocab_size"] += 64
    (teacher / "config.json").write_text(json.dumps(config))
    found = _run(base, config=_config("./student", "./other-teacher", "data/train.jsonl"))
    assert _kinds(found) == [("vocab_mismatch", "error", TEACHER)]
    assert "151936" in found[0].message and "`teacher.cross_tokenizer: uld`" in found[0].message


def test_missing_chat_template(base: Path) -> None:
    student = _copy(base / "student", base / "base-student")
    (student / "chat_template.jinja").unlink()
    found = _run(base, config=_config("./base-student", "./teacher", "data/train.jsonl"))
    assert _kinds(found) == [("missing_chat_template", "error", STUDENT)]


def test_missing_pad_token_names_the_eos_token(base: Path) -> None:
    student = _copy(base / "student", base / "nopad")
    tiny_models.build_tokenizer(student, pad_token=False)
    found = _run(base, config=_config("./nopad", "./teacher", "data/train.jsonl"))
    assert _kinds(found) == [("missing_pad_token", "error", STUDENT)]
    assert '"pad_token": "<|end|>"' in found[0].message


def test_tokenizer_larger_than_the_student_vocab(base: Path, tmp_path: Path) -> None:
    tiny_models.build_tokenizer(tmp_path / "big-tok", extra_tokens=10)
    config = _config(
        "./student", "./teacher", "data/train.jsonl", model={"tokenizer_name_or_path": "./big-tok"}
    )
    found = _run(base, config=config)
    assert ("tokenizer_exceeds_vocab", "error", ("model", "tokenizer_name_or_path")) in _kinds(found)


def test_teacher_with_other_token_ids_is_an_error(base: Path) -> None:
    teacher = _copy(base / "teacher", base / "shuffled")
    data = json.loads((teacher / "tokenizer.json").read_text())
    vocab = data["model"]["vocab"]
    vocab["a"], vocab["b"] = vocab["b"], vocab["a"]
    (teacher / "tokenizer.json").write_text(json.dumps(data))
    found = _run(base, config=_config("./student", "./shuffled", "data/train.jsonl"))
    assert _kinds(found) == [("tokenizer_mismatch", "error", TEACHER)]


def test_bad_rows(base: Path) -> None:
    tiny_models.write_messages_jsonl(base / "data" / "bad.jsonl", rows=4, last_role="user")
    found = _run(base, config=_config("./student", "./teacher", "data/bad.jsonl"))
    assert _kinds(found) == [("data_last_not_assistant", "error", ("data", "train", "path"))]
    assert found[0].message.startswith("line 1, line 2, line 3 (and 1 more of the first 4)")


def test_eval_rows_are_checked_too(base: Path) -> None:
    (base / "data" / "eval.jsonl").write_text('{"text": "hi"}\n')
    config = _config(
        "./student", "./teacher", "data/train.jsonl", data={"eval": {"path": "data/eval.jsonl"}}
    )
    assert _kinds(_run(base, config=config)) == [
        ("data_missing_columns", "error", ("data", "eval", "path"))
    ]


@pytest.mark.parametrize(
    ("student", "kind"),
    [
        ("./nowhere", "path_not_found"),
        ("./data/train.jsonl", "not_a_directory"),
        ("./data", "not_a_model"),
        ("./config-only", "no_weights"),
    ],
)
def test_missing_or_empty_model_path(base: Path, student: str, kind: str) -> None:
    (base / "config-only").mkdir()
    shutil.copy(base / "student" / "config.json", base / "config-only" / "config.json")
    found = _run(base, config=_config(student, "./teacher", "data/train.jsonl"))
    assert _kinds(found) == [(kind, "error", STUDENT)]


def test_missing_teacher_and_data(base: Path) -> None:
    found = _run(base, config=_config("./student", "../gone/teacher", "data/none.jsonl"))
    assert _kinds(found) == [
        ("path_not_found", "error", TEACHER),
        ("data_not_found", "error", ("data", "train", "path")),
    ]
    assert str(base) in found[0].message  # says where relative paths start


def test_adapter_folder_is_explained(base: Path) -> None:
    (base / "adapter").mkdir()
    (base / "adapter" / "adapter_config.json").write_text("{}")
    found = _run(base, config=_config("./adapter", "./teacher", "data/train.jsonl"))
    assert _kinds(found) == [("not_a_model", "error", STUDENT)]
    assert "PEFT adapter" in found[0].message


def test_hub_ids_resolve_through_the_local_cache(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    fake_hub_model(tmp_path / "hub", "org/student", base / "student")
    teacher = _copy(base / "teacher", tmp_path / "big-teacher")
    config = json.loads((teacher / "config.json").read_text())
    config["vocab_size"] += 1
    (teacher / "config.json").write_text(json.dumps(config))
    fake_hub_model(tmp_path / "hub", "org/teacher", teacher)
    found = _run(base, config=_config("org/student", "org/teacher", "data/train.jsonl"))
    assert _kinds(found) == [("vocab_mismatch", "error", TEACHER)]


def test_uncached_hub_model_is_skipped_with_a_warning(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    found = _run(base, config=_config("./student", "org/not-downloaded", "data/train.jsonl"))
    assert _kinds(found) == [("not_cached", "warning", TEACHER)]


def test_a_folder_written_without_dot_slash_is_local_as_in_transformers(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    (base / "models").mkdir()
    (base / "models" / "teacher").symlink_to(base / "teacher")
    found = _run(base, config=_config("student", "models/teacher", "data/train.jsonl"))
    assert _kinds(found) == []  # not "not cached on the Hub": both folders were checked
    broken = _copy(base / "teacher", base / "models" / "broken")
    (broken / "config.json").unlink()
    found = _run(base, config=_config("student", "models/broken", "data/train.jsonl"))
    assert _kinds(found) == [("not_a_model", "error", TEACHER)]


def test_occupied_output_dir(base: Path) -> None:
    (base / "out").mkdir()
    (base / "out" / "metrics.jsonl").write_text("{}\n")
    found = _run(base)
    assert _kinds(found) == [("output_dir_occupied", "error", ("training", "output_dir"))]
    assert "metrics.jsonl" in found[0].message
    assert _run(base, overwrite=True) == []
    assert _run(base, check_output_dir=False) == []


def test_never_touches_the_network(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"preflight opened a connection: {args}")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    fake_hub_model(tmp_path / "hub", "org/student", base / "student")
    config = _config("org/student", "org/teacher", "data/train.jsonl", data={"eval": {"name": "org/x"}})
    assert _kinds(_run(base, config=config)) == [
        ("not_cached", "warning", TEACHER),
        ("not_cached", "warning", ("data", "eval", "name")),
    ]


def test_importing_preflight_stays_light() -> None:
    code = (
        "import sys, gkd_schema.runner.preflight; "
        "print(sorted({'torch', 'transformers', 'datasets'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_unknown_vocab_size_is_a_warning(base: Path) -> None:
    student = _copy(base / "student", base / "novocab")
    config = json.loads((student / "config.json").read_text())
    del config["vocab_size"]
    (student / "config.json").write_text(json.dumps(config))
    found = _run(base, config=_config("./novocab", "./teacher", "data/train.jsonl"))
    assert _kinds(found) == [("vocab_unknown", "warning", TEACHER)]


def test_a_preflight_bug_is_a_warning_not_a_crash(
    base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gkd_schema.runner.preflight as preflight

    def broken(*args: Any) -> list[Diagnostic]:
        raise RuntimeError("boom")

    monkeypatch.setattr(preflight, "check_memory", broken)
    found = _run(base)
    assert _kinds(found) == [
        ("preflight_failed", "warning", ("training", "per_device_train_batch_size"))
    ]
    assert "RuntimeError: boom" in found[0].message


def test_top_k_above_the_teachers_vocabulary(base: Path) -> None:
    teacher_vocab = json.loads((base / "teacher" / "config.json").read_text())["vocab_size"]
    config = _config("./student", "./teacher", "data/train.jsonl")
    at_most = config.model_copy(update={"teacher": TeacherSection(top_k=teacher_vocab)})
    assert _run(base, config=at_most) == []
    above = config.model_copy(update={"teacher": TeacherSection(top_k=teacher_vocab + 1)})
    found = _run(base, config=above)
    assert _kinds(found) == [("top_k_exceeds_vocab", "error", ("teacher", "top_k"))]
    assert f"use at most {teacher_vocab}" in found[0].message


def test_a_chat_template_by_name_or_file_gives_a_base_model_one(base: Path, tmp_path: Path) -> None:
    student = _copy(base / "student", base / "base-student")
    template = (student / "chat_template.jinja").read_text("utf-8")
    (student / "chat_template.jinja").unlink()
    (tmp_path / "mine.jinja").write_text(template, "utf-8")
    for value in ("qwen2_5", str(tmp_path / "mine.jinja")):
        config = _config("./base-student", "./teacher", "data/train.jsonl", model={"chat_template": value})
        assert "missing_chat_template" not in [d.type for d in _run(base, config=config)], value


@pytest.mark.parametrize(
    ("value", "said"),
    [("qwen25", "did you mean `qwen2_5`"), ("./nowhere.jinja", "no such file")],
)
def test_a_chat_template_that_cannot_be_found(base: Path, value: str, said: str) -> None:
    config = _config("./student", "./teacher", "data/train.jsonl", model={"chat_template": value})
    found = [d for d in _run(base, config=config) if d.type == "chat_template_not_found"]
    assert [d.loc for d in found] == [("model", "chat_template")] and said in found[0].message
