"""The `data` section: where training and evaluation conversations come from."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from gkd_schema.models.base import StrictModel

DATA_FILE_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv")
_ONE_SOURCE = "give exactly one of `path` (a local file) or `name` (a Hub dataset)"


class DatasetSource(StrictModel):
    """One split of data: a local file (`path`) or a Hub dataset (`name`), not both."""

    # The schema form of `_one_source`, so editors flag what `gkd validate` would:
    # exactly one of `path`/`name` as a string; with `path`, no `config` or `split`.
    model_config = StrictModel.model_config | {
        "json_schema_extra": {
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
        }
    }

    path: str | None = Field(
        default=None,
        min_length=1,
        pattern=r"\.(jsonl|json|parquet|csv)$",
        examples=["data/train.jsonl"],
        json_schema_extra={"patternErrorMessage": "Use a .jsonl, .json, .parquet or .csv file."},
        description=(
            "A local data file: .jsonl, .json, .parquet or .csv, relative to the directory "
            "gkd runs in. Rows hold `messages` (a list of {role, content}) or "
            "`prompt`/`completion` columns."
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

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.path is None) == (self.name is None):
            which = "both" if self.path is not None else "neither"
            raise PydanticCustomError(
                "data_source",
                "give exactly one of `path` (a local file) or `name` (a Hub dataset); "
                "this gives {which}",
                {"which": which, "key": "path" if which == "both" else None},
            )
        if self.path is not None and (self.config is not None or self.split != "train"):
            raise PydanticCustomError(
                "data_source",
                "`split` and `config` apply to Hub datasets (`name`); a local `path` is "
                "one split: remove them or use one file per split",
                {"key": "config" if self.config is not None else "split"},
            )
        return self


class DataSection(StrictModel):
    """Training data, and optionally held-out evaluation data."""

    train: DatasetSource = Field(description="The conversations to distill on.")
    eval: DatasetSource | None = Field(
        default=None,
        description="Held-out conversations for evaluation; needed by `training.eval_strategy`.",
    )
