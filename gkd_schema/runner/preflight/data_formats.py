"""The row layouts `data.*.format` names, turned into the `messages` or `prompt`/`completion` form.

Preflight (`data_rows.py`) and the runner (`runner/train/data_loading.py`) both read
rows through `standard_row`, so a layout is accepted by one exactly when the other
accepts it. Alpaca and ShareGPT rows become conversations:

- alpaca: an optional `system` message, the user's `instruction` (followed by a blank
  line and `input` when that is non-empty), the assistant's `output`;
- sharegpt: an optional `system` message, then each `conversations` turn with `from`
  mapped to a role (human/user -> user, gpt/assistant/model -> assistant, system).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gkd_schema.models.data_section import FORMAT_COLUMNS

SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "model": "assistant",
    "chatgpt": "assistant",
    "system": "system",
}


class FormatProblem(ValueError):
    """A row that does not fit its format: `detail` completes "row N of FILE ...", `fix` says what to do."""

    def __init__(self, type_: str, detail: str, fix: str) -> None:
        super().__init__(f"{detail}; {fix}")
        self.type, self.detail, self.fix = type_, detail, fix


def decode_cell(value: Any) -> Any:
    """Parse a cell of JSON list text (how CSV holds lists); anything else as it is."""
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def detect_format(row: Any) -> str | None:
    """The format a row's columns suggest, or None when they fit none."""
    if not isinstance(row, dict):
        return None
    if "messages" in row:
        return "messages"
    if "prompt" in row and "completion" in row:
        return "prompt_completion"
    if "conversations" in row:
        return "sharegpt"
    if "instruction" in row and "output" in row:
        return "alpaca"
    return None


def standard_row(row: dict[str, Any], fmt: str, columns: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`row` as a `messages` row (or `prompt`/`completion` for that format), columns renamed.

    Args:
        row: One dataset row.
        fmt: One of `DATA_FORMATS`.
        columns: `data.*.columns`: the row's column for each column the format reads.

    Returns:
        `{"messages": ...}` or `{"prompt": ..., "completion": ...}`, values not yet checked
        beyond what the format itself needs.

    Raises:
        FormatProblem: A required column is missing, or an alpaca/sharegpt value has the
            wrong type.
    """
    names = {field: (columns or {}).get(field, field) for field in FORMAT_COLUMNS[fmt]}
    if fmt == "messages":
        return {"messages": _required(row, names, "messages", fmt)}
    if fmt == "prompt_completion":
        return {"prompt": _required(row, names, "prompt", fmt), "completion": _required(row, names, "completion", fmt)}
    system = _optional_text(row, names, "system")
    head = [{"role": "system", "content": system}] if system else []
    if fmt == "alpaca":
        instruction = _text(row, names, "instruction", fmt)
        extra = _optional_text(row, names, "input")
        prompt = f"{instruction}\n\n{extra}" if extra else instruction
        output = _text(row, names, "output", fmt)
        return {"messages": [*head, {"role": "user", "content": prompt}, {"role": "assistant", "content": output}]}
    return {"messages": head + _sharegpt_turns(decode_cell(_required(row, names, "conversations", fmt)), names)}


def _required(row: dict[str, Any], names: dict[str, str], field: str, fmt: str) -> Any:
    column = names[field]
    if column not in row:
        keys = ", ".join(map(str, list(row)[:8])) or "none"
        rename = "" if column == field else f" (`columns.{field}`)"
        raise FormatProblem(
            "data_missing_columns",
            f"has no `{column}` column{rename} for the {fmt} format (its keys: {keys})",
            f"name the column that holds `{field}` with `columns: {{{field}: YOUR_COLUMN}}`, or set "
            "`format` to the layout of your data",
        )
    return row[column]


def _text(row: dict[str, Any], names: dict[str, str], field: str, fmt: str) -> str:
    value = _required(row, names, field, fmt)
    if not isinstance(value, str):
        raise FormatProblem(
            "data_bad_alpaca",  # the only format with required text columns
            f"has a {type(value).__name__} as `{names[field]}`, not text",
            f"give `{names[field]}` as text",
        )
    return value


def _optional_text(row: dict[str, Any], names: dict[str, str], field: str) -> str:
    value = row.get(names[field])
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FormatProblem(
            "data_bad_optional_text",
            f"has a {type(value).__name__} as `{names[field]}`, not text",
            f"give `{names[field]}` as text, or leave it empty",
        )
    return value


def _sharegpt_turns(turns: Any, names: dict[str, str]) -> list[dict[str, Any]]:
    column = names["conversations"]
    if not isinstance(turns, list) or not turns:
        raise FormatProblem(
            "data_bad_sharegpt",
            f"has a `{column}` that is not a non-empty list",
            'write it as a list like [{"from": "human", "value": "..."}, {"from": "gpt", "value": "..."}]',
        )
    messages = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            raise FormatProblem(
                "data_bad_sharegpt",
                f"has `{column}[{i}]` without a text `value`",
                'give every turn a "from" and a text "value"',
            )
        role = SHAREGPT_ROLES.get(str(turn.get("from")).lower())
        if role is None:
            raise FormatProblem(
                "data_bad_sharegpt",
                f"has `{column}[{i}]` from {turn.get('from')!r}, which is no chat role",
                f"use one of {', '.join(SHAREGPT_ROLES)} (tool and function turns are not supported)",
            )
        messages.append({"role": role, "content": turn["value"]})
    return messages
