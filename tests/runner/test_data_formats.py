"""Alpaca and ShareGPT rows, detected or named, with renamed columns: preflight and the run agree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gkd_schema.cli.app import app
from gkd_schema.config.validation import validate_file
from gkd_schema.models import DatasetSource
from gkd_schema.runner.preflight.data_files import RowSample
from gkd_schema.runner.preflight.data_rows import check_rows
from gkd_schema.runner.train.data_loading import DataError, load_split_with_format

REPO = Path(__file__).resolve().parents[2]
LOC = ("data", "train", "path")
ALPACA = [
    {"instruction": "reverse:", "input": "abc", "output": "cba"},
    {"instruction": "say hi", "input": "", "output": "hi", "system": "be brief"},
]
SHAREGPT = [
    {"conversations": [{"from": "human", "value": "reverse: ab"}, {"from": "gpt", "value": "ba"}]},
    {
        "conversations": [
            {"from": "system", "value": "be brief"},
            {"from": "human", "value": "hi"},
            {"from": "gpt", "value": "hello"},
        ]
    },
]
EXPECTED = {
    "alpaca": [
        [{"role": "user", "content": "reverse:\n\nabc"}, {"role": "assistant", "content": "cba"}],
        [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "say hi"},
            {"role": "assistant", "content": "hi"},
        ],
    ],
    "sharegpt": [
        [{"role": "user", "content": "reverse: ab"}, {"role": "assistant", "content": "ba"}],
        [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
        ],
    ],
}


def _sample(rows: list[dict[str, Any]]) -> RowSample:
    return RowSample("train.jsonl", "jsonl", [(f"row {i}", row) for i, row in enumerate(rows, 1)])


def _write(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
    return path


def _renamed(rows: list[dict[str, Any]], old: str, new: str) -> list[dict[str, Any]]:
    return [{new if key == old else key: value for key, value in row.items()} for row in rows]


@pytest.mark.parametrize(("fmt", "rows"), [("alpaca", ALPACA), ("sharegpt", SHAREGPT)])
@pytest.mark.parametrize("named", [False, True])
def test_detected_or_named_formats_become_the_same_conversations_in_preflight_and_the_run(
    tmp_path: Path, fmt: str, rows: list[dict[str, Any]], named: bool
) -> None:
    conversations, found = check_rows(_sample(rows), loc=LOC, fmt=fmt if named else None)
    assert found == []
    assert [messages for _, messages in conversations] == EXPECTED[fmt]
    source = DatasetSource(path=str(_write(tmp_path, rows)), format=fmt if named else None)
    dataset, label = load_split_with_format(source, "train", tmp_path)
    assert dataset["messages"] == EXPECTED[fmt]
    assert label == (fmt if named else f"{fmt} (detected)")


def test_columns_rename_what_a_format_reads(tmp_path: Path) -> None:
    rows = _renamed(_renamed(ALPACA, "instruction", "question"), "output", "answer")
    columns = {"instruction": "question", "output": "answer"}
    conversations, found = check_rows(_sample(rows), loc=LOC, fmt="alpaca", columns=columns)
    assert found == [] and [m for _, m in conversations] == EXPECTED["alpaca"]
    source = DatasetSource(path=str(_write(tmp_path, rows)), format="alpaca", columns=columns)
    assert load_split_with_format(source, "train", tmp_path)[0]["messages"] == EXPECTED["alpaca"]


@pytest.mark.parametrize(
    ("fmt", "rows", "kind", "said"),
    [
        ("alpaca", [{"instruction": "x"}], "data_missing_columns", "has no `output` column for the alpaca format"),
        ("alpaca", [{"instruction": 3, "output": "y"}], "data_bad_alpaca", "has a int as `instruction`, not text"),
        ("sharegpt", [{"conversations": []}], "data_bad_sharegpt", "not a non-empty list"),
        (
            "sharegpt",
            [{"conversations": [{"from": "tool", "value": "{}"}, {"from": "gpt", "value": "ok"}]}],
            "data_bad_sharegpt",
            "from 'tool', which is no chat role",
        ),
        (
            "sharegpt",
            [{"conversations": [{"from": "gpt", "value": "hi"}, {"from": "human", "value": "bye"}]}],
            "data_last_not_assistant",
            'ends `messages` with a "user" message',
        ),
        ("messages", [{"prompt": "a", "completion": "b"}], "data_missing_columns", "`columns: {messages:"),
    ],
)
def test_rows_that_do_not_fit_their_format_are_located_errors_in_both(
    tmp_path: Path, fmt: str, rows: list[dict[str, Any]], kind: str, said: str
) -> None:
    _, found = check_rows(_sample(rows), loc=LOC, fmt=fmt)
    assert [(d.type, d.loc) for d in found] == [(kind, LOC)]
    assert said in found[0].message and found[0].message.startswith("row 1 of train.jsonl ")
    with pytest.raises(DataError, match="row 1: "):
        load_split_with_format(DatasetSource(path=str(_write(tmp_path, rows)), format=fmt), "train", tmp_path)


def test_rows_of_no_known_format_name_the_formats_and_the_keys() -> None:
    _, found = check_rows(_sample([{"question": "q", "answer": "a"}]), loc=LOC)
    assert [d.type for d in found] == ["data_missing_columns"]
    assert "(its keys: question, answer)" in found[0].message and "`columns`" in found[0].message


@pytest.mark.parametrize(
    ("data", "key", "kind", "said"),
    [
        ({"format": "alpac"}, "format", "literal_error", "did you mean `alpaca`?"),
        ({"columns": {"instruction": "q"}}, "columns", "columns_without_format", "set `format` too"),
        ({"format": "alpaca", "columns": {"prompt": "q"}}, "columns", "unknown_format_column", "it reads instruction"),
    ],
)
def test_format_keys_are_located_validate_errors(
    write_config: Any, tmp_path: Path, data: dict[str, Any], key: str, kind: str, said: str
) -> None:
    report = validate_file(write_config(tmp_path, data={"train": data}), environ={})
    assert [(d.type, d.loc[:3]) for d in report.errors] == [(kind, ("data", "train", key))]
    assert said in report.errors[0].message and report.errors[0].line is not None


@pytest.mark.slow
@pytest.mark.parametrize(("example", "label"), [("alpaca.yaml", "(alpaca)"), ("sharegpt.yaml", "(sharegpt)")])
def test_the_examples_dry_run_and_say_their_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, example: str, label: str
) -> None:
    monkeypatch.chdir(REPO)
    args = ["run", f"examples/{example}", "--dry-run", "--set", f"training.output_dir={tmp_path / 'out'}"]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"Data:       train 200 rows {label}; checked and converted to `messages`" in result.output


def test_the_system_prompt_goes_first_unless_a_conversation_has_its_own(tmp_path: Path) -> None:
    source = DatasetSource(path=str(_write(tmp_path, SHAREGPT)))
    dataset, _ = load_split_with_format(source, "train", tmp_path, system_prompt="answer in one word")
    first, second = dataset["messages"]
    assert first[0] == {"role": "system", "content": "answer in one word"} and first[1:] == EXPECTED["sharegpt"][0]
    assert second == EXPECTED["sharegpt"][1]  # it starts with its own system message
