"""A `server_url` that a `backend`/`mode` key switches on: its pattern, schema form and validator.

`generation.vllm` (`mode: server`) and `teacher` (`backend: server`) both name a server
this way: required when the switch says server, refused otherwise, so that a URL is
never silently ignored. The schema form lets editors flag the same two mistakes.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_core import PydanticCustomError

from gkd_schema.models.base import Problem

SERVER_URL_PATTERN = r"^https?://[^\s/]+(/[^\s]*)?$"


def server_url_field(switch: str, what: str, example: str) -> Any:
    """The `server_url` field of a section whose `switch` key chooses the server."""
    return Field(
        default=None,
        pattern=SERVER_URL_PATTERN,
        description=f"With `{switch}: server`: {what}, e.g. `{example}` (required there, and read nowhere else).",
    )


def connect_timeout_field(switch: str) -> Any:
    """The `connect_timeout_s` field: quick requests (what it serves, tokenizing)."""
    return Field(
        default=10.0,
        gt=0,
        description=f"With `{switch}: server`: seconds to wait for the server to accept a connection.",
    )


def server_url_schema(switch: str, needed: str, unused: str) -> dict[str, Any]:
    """The JSON Schema `allOf` entry: `server_url` required when `switch` is `server`, null otherwise."""
    return {
        "if": {"properties": {switch: {"const": "server"}}, "required": [switch]},
        "then": {
            "required": ["server_url"],
            "properties": {"server_url": {"type": "string", "errorMessage": needed}},
            "errorMessage": needed,
        },
        "else": {"properties": {"server_url": {"type": "null", "errorMessage": unused}}},
    }


def server_url_problems(
    switch: str, value: str, server_url: str | None, *, needed: str, unused: str, prefix: str
) -> list[Problem]:
    """The schema's rule as located errors: at `switch` when the URL is missing, at the URL when unused.

    Args:
        switch: The key that chooses the server (`mode`, `backend`).
        value: Its value.
        server_url: The URL given, if any.
        needed: Message for a server without a URL.
        unused: Message for a URL without a server.
        prefix: Prefix of the error types (`vllm`, `teacher`).
    """
    if value == "server" and server_url is None:
        error = PydanticCustomError(f"{prefix}_server_url_missing", needed + " (e.g. `http://127.0.0.1:8000`)")
        return [((switch,), error)]
    if value != "server" and server_url is not None:
        return [(("server_url",), PydanticCustomError(f"{prefix}_server_url_unused", unused))]
    return []
