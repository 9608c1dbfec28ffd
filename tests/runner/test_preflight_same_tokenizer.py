"""The teacher reads the student's token ids: any other mapping is caught before weights load."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from gkd_schema.config.diagnostics import Diagnostic
from gkd_schema.models import RunConfig
from gkd_schema.runner.preflight import run_preflight
from gkd_schema.runner.preflight.same_tokenizer import check_same_tokenizer, load_teacher_tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tiny_models

TEACHER = ("gkd", "teacher_model_name_or_path")


@pytest.fixture
def base(tmp_path: Path, tiny_student_dir: Path, tiny_teacher_dir: Path, messages_jsonl: Path) -> Path:
    """A run directory with ./student, a copy of the teacher in ./teacher, and the data."""
    (tmp_path / "student").symlink_to(tiny_student_dir)
    shutil.copytree(tiny_teacher_dir, tmp_path / "teacher")
    (tmp_path / "data").mkdir()
    shutil.copy(messages_jsonl, tmp_path / "data" / "train.jsonl")
    return tmp_path


def _preflight(base: Path, teacher: str = "./teacher") -> list[Diagnostic]:
    config = RunConfig.model_validate(
        {
            "model": {"name_or_path": "./student", "dtype": "float32"},
            "gkd": {"teacher_model_name_or_path": teacher, "max_new_tokens": 8},
            "data": {"train": {"path": "data/train.jsonl"}},
            "training": {"output_dir": "out", "max_length": 64, "per_device_train_batch_size": 2},
        }
    )
    return run_preflight(config, base_dir=base, check_output_dir=False)


def _kinds(found: list[Diagnostic]) -> list[tuple[str, str]]:
    return [(d.type, d.severity) for d in found if d.loc == TEACHER]


def _edit_tokenizer_json(folder: Path, edit: Any) -> None:
    path = folder / "tokenizer.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def _edit_tokenizer_config(folder: Path, **changes: Any) -> None:
    path = folder / "tokenizer_config.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | changes))


def test_the_shipped_pair_shares_its_tokenizer(base: Path) -> None:
    assert _kinds(_preflight(base)) == []


def test_a_permuted_vocabulary_of_the_same_size_is_an_error(base: Path) -> None:
    def swap(data: dict[str, Any]) -> None:
        vocab = data["model"]["vocab"]
        vocab["a"], vocab["b"] = vocab["b"], vocab["a"]

    _edit_tokenizer_json(base / "teacher", swap)
    found = _preflight(base)
    assert _kinds(found) == [("tokenizer_mismatch", "error")]
    message = next(d.message for d in found if d.type == "tokenizer_mismatch")
    ids = json.loads((base / "student" / "tokenizer.json").read_text())["model"]["vocab"]
    first = min(ids["a"], ids["b"])
    assert f"id {first} is" in message  # the first differing id, both sides named
    assert "./student" in message and "./teacher" in message
    assert "2 of the student's" in message
    assert "`teacher.cross_tokenizer: uld`" in message


def test_another_tokenizer_padded_to_the_same_size_is_an_error(base: Path) -> None:
    def replace(data: dict[str, Any]) -> None:
        vocab = data["model"]["vocab"]
        vocab["é"] = vocab.pop("z")  # same size, one id now holds another token

    _edit_tokenizer_json(base / "teacher", replace)
    found = _preflight(base)
    assert _kinds(found) == [("tokenizer_mismatch", "error")]
    assert "'é' for the teacher" in found[0].message


def test_another_end_of_sequence_token_is_an_error(base: Path) -> None:
    _edit_tokenizer_config(base / "teacher", eos_token="<|system|>")
    found = _preflight(base)
    assert _kinds(found) == [("special_token_mismatch", "error")]
    assert "eos token is '<|end|>'" in found[0].message


def test_another_pad_token_is_a_warning(base: Path) -> None:
    _edit_tokenizer_config(base / "teacher", pad_token="<unk>")
    assert _kinds(_preflight(base)) == [("special_token_mismatch", "warning")]


def test_a_teacher_without_tokenizer_files_is_reported_not_skipped(base: Path) -> None:
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json"):
        (base / "teacher" / name).unlink(missing_ok=True)
    found = _preflight(base)
    assert _kinds(found) == [("tokenizer_not_compared", "warning")]
    assert "holds no tokenizer files" in found[0].message


def _compare(student_dir: Path, teacher_dir: Path) -> list[tuple[str, str]]:
    from transformers import AutoTokenizer

    student = AutoTokenizer.from_pretrained(str(student_dir))
    found = check_same_tokenizer(
        student,
        load_teacher_tokenizer(teacher_dir, trust_remote_code=False),
        student_label="student",
        teacher_label="teacher",
    )
    return [(d.type, d.severity) for d in found]


@pytest.mark.parametrize(
    "build",
    [tiny_models.build_sentencepiece_tokenizer, tiny_models.build_vocab_merges_tokenizer],
    ids=["tokenizer.model-only", "vocab.json+merges.txt"],
)
def test_tokenizers_without_tokenizer_json_are_compared(tmp_path: Path, build: Any) -> None:
    student = build(tmp_path / "student", seed=0)
    same = build(tmp_path / "same", seed=0)
    other = build(tmp_path / "other", seed=1)  # same size, other merges
    assert not (student / "tokenizer.json").exists()
    assert _compare(student, same) == []
    assert _compare(student, other) == [("tokenizer_mismatch", "error")]


def test_one_preflight_loads_each_tokenizer_once(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The id comparison and the template comparison share the teacher's loaded tokenizer."""
    from transformers import AutoTokenizer

    loaded: list[str] = []
    real = AutoTokenizer.from_pretrained

    def counting(path: str, *args: Any, **kwargs: Any) -> Any:
        loaded.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(AutoTokenizer, "from_pretrained", counting)
    assert _kinds(_preflight(base)) == []
    assert sorted(loaded) == ["student", "teacher"]
