"""Load training and evaluation conversations into the `messages` form TRL's collator reads.

Local .jsonl/.json/.parquet/.csv files and Hub datasets load through `datasets`.
Rows are conversations (`messages`: a list of `{role, content}` ending with the
assistant), `prompt`/`completion` pairs, alpaca or sharegpt rows (`data.*.format`,
detected from the first row when unset), all converted to `messages`. Only `messages`
is kept: TRL's collator would read a leftover `prompt` column as pre-formatted text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gkd_schema.config.diagnostics import Diagnostic, Loc
from gkd_schema.models import DatasetSource
from gkd_schema.runner.preflight.chat_template import with_system_prompt
from gkd_schema.runner.preflight.data_formats import decode_cell, detect_format, standard_row

_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}
_MAX_ROW_ERRORS = 5


@dataclass
class DataSummary:
    """Rows and format of each loaded split, for the banner."""

    rows: dict[str, int] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    """`alpaca`, or `alpaca (detected)` when `data.*.format` was unset."""

    def text(self, unit: str) -> str:
        """`train 100 <unit> (alpaca, detected), eval 10 <unit> (messages)`."""
        return ", ".join(
            f"{split} {n} {unit} ({self.formats[split].replace(' (', ', ').rstrip(')')})"
            for split, n in self.rows.items()
        )


class DataError(Exception):
    """The data cannot be used for a run; carries diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics


def _as_messages(value: Any, role: str) -> list[Any]:
    """A prompt or completion (a string or a list of messages) as a message list."""
    if isinstance(value, str):
        return [{"role": role, "content": value}]
    if not isinstance(value, list):
        raise ValueError(f"`{role}` side must be a string or a list of messages")
    return list(value)


def _row_problem(messages: Any) -> str | None:
    """Why `messages` is not a usable conversation, or None when it is."""
    if not isinstance(messages, list) or len(messages) < 2:
        return "`messages` must be a list of at least two {role, content} messages"
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or not isinstance(msg.get("role"), str):
            return f"message {i} needs a string `role`"
        if not isinstance(msg.get("content"), str):
            return f"message {i} needs a string `content`"
    if messages[-1]["role"] != "assistant":
        return (
            f"the last message is from `{messages[-1]['role']}`, not `assistant`; GKD "
            "trains on the last message as the completion"
        )
    return None


def to_messages(row: dict[str, Any]) -> list[Any]:
    """Convert one row to a conversation.

    Args:
        row: A dataset row with `messages`, or `prompt` and `completion`.

    Returns:
        The conversation as a list of `{role, content}` dicts.

    Raises:
        ValueError: The row is neither form, or the conversation is unusable.
    """
    if "messages" in row:
        messages = decode_cell(row["messages"])
    elif "prompt" in row and "completion" in row:
        messages = _as_messages(decode_cell(row["prompt"]), "user") + _as_messages(
            decode_cell(row["completion"]), "assistant"
        )
    else:
        raise ValueError(
            f"rows need a `messages` column or `prompt` and `completion` columns; "
            f"found {sorted(row)}"
        )
    problem = _row_problem(messages)
    if problem:
        raise ValueError(problem)
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def _source_loc(source: DatasetSource, split_key: str) -> Loc:
    return ("data", split_key, "path" if source.path is not None else "name")


def load_raw(source: DatasetSource, base_dir: Path) -> Any:
    """Load one source as a `datasets.Dataset`, unconverted.

    Raises:
        DataError: The file is missing or `datasets` cannot read it.
    """
    from datasets import load_dataset
    from datasets.utils.logging import disable_progress_bar

    # A "Generating train split" bar per file is noise next to gkd's own report.
    disable_progress_bar()
    if source.path is not None:
        path = Path(source.path).expanduser()
        path = path if path.is_absolute() else base_dir / path
        if not path.is_file():
            raise DataError([Diagnostic(("data",), f"data file not found: {path}", "data_missing")])
        builder = _BUILDERS[path.suffix.lower()]
        return load_dataset(builder, data_files=str(path), split="train")
    return load_dataset(source.name, source.config, split=source.split)


def load_split(source: DatasetSource, split_key: str, base_dir: Path, *, system_prompt: str | None = None) -> Any:
    """Load, truncate, check and convert one data split (see `load_split_with_format`)."""
    return load_split_with_format(source, split_key, base_dir, system_prompt=system_prompt)[0]


def load_split_with_format(
    source: DatasetSource, split_key: str, base_dir: Path, *, system_prompt: str | None = None
) -> tuple[Any, str]:
    """Load, truncate, check and convert one data split, and say which format it had.

    Args:
        source: The `data.train` or `data.eval` section.
        split_key: `train` or `eval`, for error locations.
        base_dir: Directory relative `path`s are resolved against.
        system_prompt: `data.system_prompt`, put first in conversations without a system message.

    Returns:
        A `datasets.Dataset` with exactly one column, `messages`, and the format's name
        (`alpaca`, or `alpaca (detected)` when the config did not name one).

    Raises:
        DataError: The data is missing, empty or has unusable rows (up to five
            rows are named).
    """
    loc = _source_loc(source, split_key)
    try:
        raw = load_raw(source, base_dir)
    except DataError as exc:
        raise DataError([Diagnostic(loc, d.message, d.type) for d in exc.diagnostics]) from exc
    except Exception as exc:  # datasets raises many kinds; the user needs the message
        raise DataError(
            [Diagnostic(loc, f"could not load the data: {exc}", "data_load_error")]
        ) from exc
    if source.max_samples is not None and len(raw) > source.max_samples:
        raw = raw.select(range(source.max_samples))
    if len(raw) == 0:
        raise DataError([Diagnostic(loc, "the data has no rows", "data_empty")])

    fmt = source.format or detect_format(raw[0])
    converted: list[list[Any]] = []
    errors: list[Diagnostic] = []
    for index, row in enumerate(raw):
        try:
            messages = to_messages(row if fmt is None else standard_row(row, fmt, source.columns))
            converted.append(with_system_prompt(messages, system_prompt))
        except ValueError as exc:
            errors.append(Diagnostic(loc, f"row {index + 1}: {exc}", "data_row"))
            if len(errors) >= _MAX_ROW_ERRORS:
                break
    if errors:
        raise DataError(errors)

    from datasets import Dataset

    label = source.format or f"{fmt or 'messages'} (detected)"
    return Dataset.from_dict({"messages": converted}), label
