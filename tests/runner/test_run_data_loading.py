"""Data loading: `messages` rows, prompt/completion conversion, clear errors for bad rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gkd_schema.models import DatasetSource
from gkd_schema.runner.train.data_loading import DataError, load_split, to_messages


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_prompt_completion_strings_become_a_conversation() -> None:
    assert to_messages({"prompt": "hi", "completion": "hello"}) == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]


def test_conversational_prompt_completion() -> None:
    row = {
        "prompt": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
        "completion": [{"role": "assistant", "content": "a"}],
    }
    assert [m["role"] for m in to_messages(row)] == ["system", "user", "assistant"]


def test_jsonl_messages_keep_only_messages(tmp_path: Path) -> None:
    rows = [
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
         "prompt": "would confuse TRL's collator", "id": i}
        for i in range(3)
    ]
    ds = load_split(DatasetSource(path=str(_jsonl(tmp_path / "d.jsonl", rows))), "train", tmp_path)
    assert ds.column_names == ["messages"] and len(ds) == 3


def test_max_samples_and_relative_path(tmp_path: Path) -> None:
    rows = [{"prompt": f"p{i}", "completion": f"c{i}"} for i in range(5)]
    _jsonl(tmp_path / "d.jsonl", rows)
    ds = load_split(DatasetSource(path="./d.jsonl", max_samples=2), "train", tmp_path)
    assert len(ds) == 2 and ds[1]["messages"][1]["content"] == "c1"


def test_csv_and_parquet(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("prompt,completion\nhi,there\nyo,ok\n")
    assert len(load_split(DatasetSource(path=str(tmp_path / "d.csv")), "train", tmp_path)) == 2
    import pandas as pd

    pd.DataFrame({"prompt": ["a"], "completion": ["b"]}).to_parquet(tmp_path / "d.parquet")
    ds = load_split(DatasetSource(path=str(tmp_path / "d.parquet")), "eval", tmp_path)
    assert ds[0]["messages"][0] == {"role": "user", "content": "a"}


def test_last_message_from_user_is_named_with_its_row(tmp_path: Path) -> None:
    rows = [
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
        {"messages": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "q"}]},
    ]
    with pytest.raises(DataError) as info:
        load_split(DatasetSource(path=str(_jsonl(tmp_path / "d.jsonl", rows))), "train", tmp_path)
    [d] = info.value.diagnostics
    assert d.loc == ("data", "train", "path") and d.type == "data_row"
    assert d.message.startswith("row 2:") and "`user`" in d.message


def test_rows_without_known_columns(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_split(DatasetSource(path=str(_jsonl(tmp_path / "d.jsonl", [{"text": "x"}]))), "train", tmp_path)
    assert "`messages`" in info.value.diagnostics[0].message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_split(DatasetSource(path="./nope.jsonl"), "eval", tmp_path)
    assert info.value.diagnostics[0].loc == ("data", "eval", "path")
    assert info.value.diagnostics[0].type == "data_missing"
