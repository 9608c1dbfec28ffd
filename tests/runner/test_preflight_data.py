"""Preflight of data rows: every file in preflight_rows/positive passes, every file in
preflight_rows/negative/<type>/ gives exactly one error of that type, and every file in
preflight_rows/warning/<type>/ exactly one warning of that type.

Adding a case is adding a file. These tests read rows without a tokenizer, so they
are fast; the token-length checks are at the end with the tiny tokenizer.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gkd_schema.config.diagnostics import Diagnostic
from gkd_schema.models import DatasetSource
from gkd_schema.runner.preflight.data_files import RowSample, read_rows
from gkd_schema.runner.preflight.data_rows import check_rows
from gkd_schema.runner.preflight.prompt_length import check_lengths

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tiny_models

ROWS = Path(__file__).resolve().parent / "preflight_rows"
POSITIVE = sorted((ROWS / "positive").iterdir())
NEGATIVE = sorted((ROWS / "negative").glob("*/*"))
WARNING = sorted((ROWS / "warning").glob("*/*"))
TRAIN = ("data", "train")


def _check(path: str, base_dir: Path) -> tuple[RowSample | None, list[Diagnostic]]:
    sample, found = read_rows(DatasetSource(path=path), loc=TRAIN, base_dir=base_dir)
    diagnostics = list(found)
    if sample is not None:
        diagnostics += check_rows(sample, loc=(*TRAIN, "path"))[1]
    return sample, diagnostics


@pytest.mark.parametrize("path", POSITIVE, ids=lambda p: p.name)
def test_positive_rows_pass(path: Path) -> None:
    sample, diagnostics = _check(f"positive/{path.name}", ROWS)
    assert diagnostics == []
    assert sample is not None and sample.rows


@pytest.mark.parametrize("path", NEGATIVE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_negative_rows_fail_with_their_type(path: Path) -> None:
    _, diagnostics = _check(str(path.relative_to(ROWS)), ROWS)
    assert [(d.type, d.severity, d.loc) for d in diagnostics] == [
        (path.parent.name, "error", ("data", "train", "path"))
    ]


@pytest.mark.parametrize("path", WARNING, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_warning_rows_warn_with_their_type(path: Path) -> None:
    _, diagnostics = _check(str(path.relative_to(ROWS)), ROWS)
    assert [(d.type, d.severity, d.loc) for d in diagnostics] == [
        (path.parent.name, "warning", ("data", "train", "path"))
    ]


def test_problem_reported_once_naming_first_rows(tmp_path: Path) -> None:
    tiny_models.write_messages_jsonl(tmp_path / "bad.jsonl", rows=10, last_role="user")
    _, diagnostics = _check("bad.jsonl", tmp_path)
    assert len(diagnostics) == 1
    message = diagnostics[0].message
    assert message.startswith("line 1, line 2, line 3 (and 7 more of the first 10) of bad.jsonl")
    assert 'ends `messages` with a "user" message' in message


def test_only_the_first_rows_are_read(tmp_path: Path) -> None:
    # A bad row after the sampled ones is not seen: the check reads `limit` rows only.
    path = tiny_models.write_messages_jsonl(tmp_path / "d.jsonl", rows=40)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("not json\n")
    sample, found = read_rows(DatasetSource(path="d.jsonl"), loc=TRAIN, base_dir=tmp_path, limit=32)
    assert found == [] and sample is not None and len(sample.rows) == 32


@pytest.mark.parametrize("path", ["missing.jsonl", "./sub/missing.parquet"])
def test_missing_data_file(tmp_path: Path, path: str) -> None:
    sample, found = read_rows(DatasetSource(path=path), loc=TRAIN, base_dir=tmp_path)
    assert sample is None
    assert [(d.type, d.loc) for d in found] == [("data_not_found", ("data", "train", "path"))]
    assert str(tmp_path) in found[0].message


def test_parquet_rows(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    good = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    bad = [{"role": "user", "content": "hi"}]
    pq.write_table(pa.table({"messages": [good, good, bad]}), tmp_path / "d.parquet")
    _, diagnostics = _check("d.parquet", tmp_path)
    assert [d.type for d in diagnostics] == ["data_last_not_assistant"]
    assert diagnostics[0].message.startswith("row 3 of d.parquet")


def _fake_hub_dataset(cache: Path, repo_id: str, files: dict[str, str]) -> None:
    """Lay out a dataset in the Hub cache format, as `hf download` leaves it."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / f"datasets--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    for name, text in files.items():
        target = repo / "snapshots" / commit / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def test_hub_dataset_from_local_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    row = {"messages": [{"role": "user", "content": "hi"}, {"role": "user", "content": "?"}]}
    _fake_hub_dataset(tmp_path / "hub", "org/chats", {"data/train-00000-of-00001.jsonl": json.dumps(row)})
    sample, found = read_rows(DatasetSource(name="org/chats"), loc=TRAIN, base_dir=tmp_path)
    assert found == [] and sample is not None
    assert sample.label == "org/chats (split train)"
    assert [d.type for d in check_rows(sample, loc=(*TRAIN, "name"))[1]] == [
        "data_last_not_assistant"
    ]


def test_hub_dataset_not_cached_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    sample, found = read_rows(DatasetSource(name="org/absent"), loc=TRAIN, base_dir=tmp_path)
    assert sample is None
    assert [(d.type, d.severity, d.loc) for d in found] == [
        ("not_cached", "warning", ("data", "train", "name"))
    ]


@pytest.fixture(scope="module")
def char_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> object:
    """The tiny character-level tokenizer: one token per character."""
    from transformers import AutoTokenizer

    folder = tiny_models.build_tokenizer(tmp_path_factory.mktemp("tok"))
    return AutoTokenizer.from_pretrained(str(folder))


def _conversation(prompt: str, reply: str) -> tuple[str, list[dict[str, str]]]:
    return "line 1", [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]


def test_prompt_leaving_no_room_for_new_tokens_warns(char_tokenizer: object) -> None:
    # Character tokens: the prompt renders as <|user|> + 40 chars + <|end|> + <|assistant|>.
    sample = RowSample("d.jsonl", "jsonl")
    found = check_lengths(
        char_tokenizer, [_conversation("x" * 40, "ok")], sample=sample,
        loc=(*TRAIN, "path"), max_length=64, max_new_tokens=32,
    )  # fmt: skip
    assert [(d.type, d.severity, d.loc) for d in found] == [
        ("prompt_too_long", "warning", ("training", "max_length"))
    ]
    assert "the longest is 43 tokens, so on-policy sequences reach 75 tokens" in found[0].message


def test_completion_filling_max_length_is_an_error(char_tokenizer: object) -> None:
    sample = RowSample("d.jsonl", "jsonl")
    found = check_lengths(
        char_tokenizer, [_conversation("hi", "y" * 80)], sample=sample,
        loc=(*TRAIN, "path"), max_length=64, max_new_tokens=8,
    )  # fmt: skip
    assert [(d.type, d.severity) for d in found] == [("completion_fills_max_length", "error")]


def test_rows_that_fit_pass(char_tokenizer: object) -> None:
    sample = RowSample("d.jsonl", "jsonl")
    found = check_lengths(
        char_tokenizer, [_conversation("hi", "hello")], sample=sample,
        loc=(*TRAIN, "path"), max_length=64, max_new_tokens=8,
    )  # fmt: skip
    assert found == []


@pytest.mark.parametrize("path", POSITIVE + NEGATIVE + WARNING, ids=lambda p: p.name)
def test_rows_agree_with_what_the_runner_accepts(path: Path) -> None:
    """Preflight must pass exactly the rows `gkd run` would load, and fail the others."""
    from gkd_schema.runner.train.data_loading import to_messages

    if path.parent.name in {"data_unreadable", "data_empty"}:
        pytest.skip("a file-level problem: there are no rows to compare")
    sample, _ = read_rows(DatasetSource(path=str(path.relative_to(ROWS))), loc=TRAIN, base_dir=ROWS)
    assert sample is not None
    accepted = []
    for _, row in sample.rows:
        try:
            to_messages(row)
            accepted.append(True)
        except (ValueError, TypeError, KeyError):
            accepted.append(False)
    preflight_errors = [d for d in check_rows(sample, loc=TRAIN)[1] if d.severity == "error"]
    assert all(accepted) == (not preflight_errors)
