"""Rules for the strings that name a model: a local path or a Hugging Face Hub repo id.

The same rules apply to the student (`model.name_or_path`) and the teacher
(`gkd.teacher_model_name_or_path`), so they live here once.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

LOCAL_PREFIXES = ("/", "./", "../", "~")
_HUB_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
HUB_REPO_ID_PATTERN = rf"^(?:{_HUB_PART}/)?{_HUB_PART}$"
# Used with `fullmatch`: Python's `$` also matches before a final newline, which
# JavaScript's (the schema's) does not, so `match` would accept `"Qwen/x\n"`.
_HUB_REPO_ID = re.compile(HUB_REPO_ID_PATTERN)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_HUB_HOSTS = ("huggingface.co/", "hf.co/")

# A local path or a repo id; the JSON Schema carries the same rule so editors agree.
# `[\s\S]*` because a local path may hold any character (`.` stops at a newline);
# the lookahead is the `--`/`..` rule of `check_model_id`. ECMA-262 and Python `re`
# read it alike; it is only used in the schema, never by pydantic's Rust regex.
_HUB_ID_BODY = rf"(?![\s\S]*(?:--|\.\.))(?:{_HUB_PART}/)?{_HUB_PART}"
MODEL_ID_PATTERN = rf"^(?:(?:/|\./|\.\./|~)[\s\S]*|{_HUB_ID_BODY})$"
# A Hub repo id only: what `check_hub_repo_id` accepts.
HUB_REPO_ID_SCHEMA_PATTERN = rf"^{_HUB_ID_BODY}$"
MODEL_ID_PATTERN_MESSAGE = (
    "Use a Hub repo id like `Qwen/Qwen2.5-0.5B-Instruct` (letters, digits, `.`, `_`, `-`) "
    "or a local path starting with `/`, `./`, `../` or `~`."
)


def is_local_path(value: str) -> bool:
    """Whether `value` is written as a local path rather than a Hub repo id."""
    return value.startswith(LOCAL_PREFIXES)


def _repo_id_from_url(url: str) -> str | None:
    """The `namespace/name` part of a Hub model URL, if it is one."""
    for host in _HUB_HOSTS:
        _, found, rest = url.partition(host)
        if found:
            parts = [p for p in rest.split("/") if p]
            if parts and parts[0] in {"datasets", "spaces"}:
                return None
            candidate = "/".join(parts[:2])
            return candidate if _HUB_REPO_ID.fullmatch(candidate) else None
    return None


def check_model_id(value: str) -> str:
    """Validate a model reference and return it unchanged.

    Raises:
        PydanticCustomError: blank strings, URLs, whitespace and names that are
            neither a local path nor a Hub repo id, each with the value to use instead.
    """
    if not value.strip():
        raise PydanticCustomError(
            "blank_model_id",
            "must name a model: a Hub repo id like `Qwen/Qwen2.5-0.5B-Instruct` "
            "or a local path starting with `./`, `../`, `/` or `~`",
        )
    if is_local_path(value):
        return value
    return _check_hub_id(value, _NOT_A_MODEL_ID)


_REPO_ID_RULE = "`name` or `namespace/name`: letters, digits, `.`, `_`, `-`, at most 96 characters each"
_NOT_A_MODEL_ID = (
    f"is neither a Hub repo id ({_REPO_ID_RULE}) nor a local path; write `./{{value}}` if it is a folder on disk"
)
_NOT_A_REPO_ID = f"is not a Hub repo id ({_REPO_ID_RULE})"


def _check_hub_id(value: str, not_a_repo_id: str) -> str:
    """The rules for a value that is not a local path; `not_a_repo_id` says what a malformed one is."""
    if _URL.match(value):
        repo_id = _repo_id_from_url(value)
        hint = f"use the repo id `{repo_id}`" if repo_id else "use a Hub repo id or a local path"
        raise PydanticCustomError(
            "model_id_url", "is a URL, not a model reference; {hint}", {"hint": hint}
        )
    if any(ch.isspace() for ch in value):
        suggestion = re.sub(r"\s+", "-", value.strip())
        raise PydanticCustomError(
            "model_id_whitespace",
            "contains whitespace; use the repo id `{suggestion}`",
            {"suggestion": suggestion},
        )
    if not _HUB_REPO_ID.fullmatch(value):
        raise PydanticCustomError("model_id_format", not_a_repo_id, {"value": value})
    if "--" in value or ".." in value:
        raise PydanticCustomError(
            "model_id_format", "a Hub repo id may not contain `--` or `..`"
        )
    return value


ModelId = Annotated[
    str,
    AfterValidator(check_model_id),
    Field(
        examples=["Qwen/Qwen2.5-0.5B-Instruct", "./checkpoints/student"],
        json_schema_extra={
            "pattern": MODEL_ID_PATTERN,
            "minLength": 1,
            "patternErrorMessage": MODEL_ID_PATTERN_MESSAGE,
        },
    ),
]
"""A Hub repo id (`name` or `namespace/name`) or a local path (`/`, `./`, `../`, `~`)."""


def check_hub_repo_id(value: str) -> str:
    """Validate the name of a Hub repo gkd writes to and return it unchanged.

    Raises:
        PydanticCustomError: local paths, URLs, whitespace and malformed names,
            each with the value to use instead.
    """
    if not value.strip() or is_local_path(value):
        raise PydanticCustomError(
            "hub_repo_id_is_path",
            "is not a Hub repo id; name the Hub repo to push to, like `your-name/qwen-gkd` "
            "(`training.output_dir` is where the run writes locally)",
        )
    return _check_hub_id(value, _NOT_A_REPO_ID)


HubRepoId = Annotated[
    str,
    AfterValidator(check_hub_repo_id),
    Field(
        min_length=1,
        examples=["your-name/qwen2.5-0.5b-gkd"],
        json_schema_extra={
            "pattern": HUB_REPO_ID_SCHEMA_PATTERN,
            "patternErrorMessage": "Use a Hub repo id like `your-name/qwen2.5-0.5b-gkd` "
            "(letters, digits, `.`, `_`, `-`).",
        },
    ),
]
"""A Hub repo id (`name` or `namespace/name`), never a local path."""
