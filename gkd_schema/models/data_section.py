"""The `data` section: where training and evaluation conversations come from."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import ConfigDict, Field, JsonValue
from pydantic_core import PydanticCustomError

from gkd_schema.models.base import Problem, SectionRule, StrictModel

DATA_FILE_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv")
DataFormat = Literal["messages", "prompt_completion", "alpaca", "sharegpt"]
DATA_FORMATS: tuple[str, ...] = get_args(DataFormat)
# The columns each format reads; `columns` renames them. `system` is optional in both
# instruction formats (a per-row system prompt), as is alpaca's `input`.
FORMAT_COLUMNS: dict[str, tuple[str, ...]] = {
    "messages": ("messages",),
    "prompt_completion": ("prompt", "completion"),
    "alpaca": ("instruction", "input", "output", "system"),
    "sharegpt": ("conversations", "system"),
}
_ONE_SOURCE = "give exactly one of `path` (a local file) or `name` (a Hub dataset)"


def _columns_rules() -> list[JsonValue]:
    """The schema form of `_column_problems`: `columns` needs `format`, and names its columns."""
    needs_format: JsonValue = {
        "if": {"properties": {"columns": {"type": "object"}}, "required": ["columns"]},
        "then": {
            "required": ["format"],
            "properties": {"format": {"type": "string"}},
            "errorMessage": "`columns` renames the columns of a format; set `format` too",
        },
    }
    per_format: list[JsonValue] = [
        {
            "if": {"properties": {"format": {"const": fmt}}, "required": ["format"]},
            "then": {
                "properties": {
                    "columns": {
                        "propertyNames": {"enum": list(fields)},
                        "errorMessage": f"the {fmt} format reads {', '.join(fields)}",
                    }
                }
            },
        }
        for fmt, fields in FORMAT_COLUMNS.items()
    ]
    return [needs_format, *per_format]


def _source_problems(source: Any) -> list[Problem]:
    """Exactly one of `path` and `name`; `split` and `config` only with `name`."""
    if (source.path is None) == (source.name is None):
        which = "both" if source.path is not None else "neither"
        problem = PydanticCustomError(
            "data_source",
            "give exactly one of `path` (a local file) or `name` (a Hub dataset); this gives {which}",
            {"which": which, "key": "path" if which == "both" else None},
        )
        return [((), problem)]
    if source.path is not None and (source.config is not None or source.split != "train"):
        problem = PydanticCustomError(
            "data_source",
            "`split` and `config` apply to Hub datasets (`name`); a local `path` is "
            "one split: remove them or use one file per split",
            {"key": "config" if source.config is not None else "split"},
        )
        return [((), problem)]
    return []


def _column_problems(columns: dict[str, str] | None, data_format: str | None) -> list[Problem]:
    """What is wrong with `columns`: no `format`, or each column the format does not read."""
    if columns is None:
        return []
    if data_format is None:
        problem = PydanticCustomError(
            "columns_without_format",
            "`columns` renames the columns of a format; set `format` too (one of {choices})",
            {"key": "columns", "choices": ", ".join(DATA_FORMATS)},
        )
        return [((), problem)]
    fields = FORMAT_COLUMNS[data_format]
    context = {"format": data_format, "fields": ", ".join(fields)}
    return [
        (
            ("columns", name),
            PydanticCustomError(
                "unknown_format_column",
                "`{name}` is not a column of the {format} format; it reads {fields}",
                {"name": name, **context},
            ),
        )
        for name in columns
        if name not in fields
    ]


class DatasetSource(StrictModel):
    """One split of data: a local file (`path`) or a Hub dataset (`name`), not both."""

    # The schema form of `_source_problems`, so editors flag what `gkd validate` would:
    # exactly one of `path`/`name` as a string; with `path`, no `config` or `split`.
    model_config = StrictModel.model_config | ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["path"],
                    "properties": {
                        "path": {"type": "string"},
                        "name": {"type": "null", "errorMessage": _ONE_SOURCE},
                        "config": {
                            "type": "null",
                            "errorMessage": "`config` applies to Hub datasets (`name`); "
                            "remove it or use `name` instead of `path`",
                        },
                        "split": {
                            "const": "train",
                            "errorMessage": "`split` applies to Hub datasets (`name`); a "
                            "local `path` is one split: remove it or use one file per split",
                        },
                    },
                    "errorMessage": _ONE_SOURCE,
                },
                {
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string"},
                        "path": {"type": "null", "errorMessage": _ONE_SOURCE},
                    },
                    "errorMessage": _ONE_SOURCE,
                },
            ],
            "allOf": _columns_rules(),
        }
    )

    path: str | None = Field(
        default=None,
        min_length=1,
        pattern=r"\.(jsonl|json|parquet|csv)$",
        examples=["data/train.jsonl"],
        json_schema_extra={"patternErrorMessage": "Use a .jsonl, .json, .parquet or .csv file."},
        description=(
            "A local data file: .jsonl, .json, .parquet or .csv, relative to the directory "
            "gkd runs in. Rows are laid out as `format` says (messages, prompt/completion, "
            "alpaca or sharegpt)."
        ),
    )
    name: str | None = Field(
        default=None,
        min_length=1,
        examples=["trl-lib/chatbot_arena_completions"],
        description="A Hugging Face Hub dataset repo id; use instead of `path`.",
    )
    split: str = Field(
        default="train",
        min_length=1,
        description="Split of the Hub dataset to read (only with `name`).",
    )
    config: str | None = Field(
        default=None,
        min_length=1,
        description="Configuration (subset) of the Hub dataset (only with `name`).",
    )
    max_samples: int | None = Field(
        default=None,
        gt=0,
        description="Use at most this many rows (the first ones); all rows when unset.",
    )
    format: DataFormat | None = Field(
        default=None,
        description=(
            "How rows are laid out: `messages` (a list of {role, content}), `prompt_completion` "
            "(`prompt` and `completion` columns), `alpaca` (`instruction`, optional `input`, "
            "`output`, optional `system`) or `sharegpt` (`conversations`: a list of {from, "
            "value}, `from` being human/gpt/system; optional `system`). Unset: detected from "
            "the first row; the run's banner says which."
        ),
    )
    columns: dict[str, Annotated[str, Field(min_length=1)]] | None = Field(
        default=None,
        examples=[{"instruction": "question", "output": "answer"}],
        description=(
            "Rename columns: each key is a column the format reads (see `format`), each value "
            "the column of your data that holds it. Needs `format`."
        ),
    )

    section_rules = (
        SectionRule(("path", "name", "config", "split"), _source_problems),
        SectionRule(("columns", "format"), lambda s: _column_problems(s.columns, s.format)),
    )


class DataSection(StrictModel):
    """Training data, and optionally held-out evaluation data."""

    train: DatasetSource = Field(description="The conversations to distill on.")
    eval: DatasetSource | None = Field(
        default=None,
        description="Held-out conversations for evaluation; needed by `training.eval_strategy`.",
    )
    system_prompt: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "A system message put before every training and evaluation conversation that "
            "does not start with one of its own."
        ),
    )
