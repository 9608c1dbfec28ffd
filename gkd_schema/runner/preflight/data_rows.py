"""Check the shape of data rows: `messages`, `prompt`/`completion`, alpaca or sharegpt.

TRL's GKD collator takes all but the last message as the prompt and the last as the
completion, whatever its role: a conversation ending with a user turn silently trains
the student to produce the user's words. The rules match what the runner accepts
(`gkd_schema.runner.train.data_loading.to_messages`): string `role` and `content`, a cell of
JSON text that starts with `[` is parsed (CSV), `prompt`/`completion` are text or
message lists. Alpaca and ShareGPT rows are first turned into `messages`
(`data_formats.py`). Every problem kind is reported once per source, naming its first rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gkd_schema.config.diagnostics import Diagnostic, Loc, Severity
from gkd_schema.runner.preflight.data_files import RowSample
from gkd_schema.runner.preflight.data_formats import FormatProblem, decode_cell, detect_format, standard_row

Message = dict[str, Any]
Conversation = tuple[str, list[Message]]
_SHOWN = 3  # rows named per problem; the rest are counted


@dataclass(frozen=True)
class _Problem:
    type: str
    detail: str  # completes "<row> of <file> ..."
    fix: str
    severity: Severity = "error"


def _message_problem(messages: Any, *, field: str) -> _Problem | None:
    """What is wrong with a list of chat messages, if anything."""
    if not isinstance(messages, list) or not messages:
        return _Problem(
            "data_bad_messages",
            f"has a `{field}` that is not a non-empty list",
            'write it as a list like [{"role": "user", "content": "..."}, ...]',
        )
    for i, message in enumerate(messages):
        if (
            not isinstance(message, dict)
            or not isinstance(message.get("role"), str)
            or not isinstance(message.get("content"), str)
        ):
            sharegpt = isinstance(message, dict) and {"from", "value"} <= message.keys()
            return _Problem(
                "data_bad_messages",
                f"has `{field}[{i}]` without a string `role` and a string `content`",
                'rename ShareGPT\'s "from"/"value" to "role"/"content" (human -> user, '
                "gpt -> assistant)"
                if sharegpt
                else 'give every message a "role" and a text "content"',
            )
    return None


def _ends_with_assistant(messages: list[Message], field: str) -> _Problem | None:
    """The last message must be the assistant's: it is the completion."""
    last = messages[-1]["role"]
    if last != "assistant":
        return _Problem(
            "data_last_not_assistant",
            f'ends `{field}` with a "{last}" message',
            "the last message must be the assistant's reply (it is the completion); "
            "add the reply or drop the trailing turn",
        )
    return None


def _from_messages(value: Any) -> tuple[list[Message] | None, _Problem | None]:
    messages = decode_cell(value)
    problem = _message_problem(messages, field="messages")
    problem = problem or _ends_with_assistant(messages, "messages")
    if problem is None and len(messages) < 2:
        problem = _Problem(
            "data_no_prompt",
            "has only the assistant's message, so there is no prompt",
            "put at least one user (or system) message before the reply",
        )
    return (None, problem) if problem else (list(messages), None)


def _from_prompt_completion(row: dict[str, Any]) -> tuple[list[Message] | None, _Problem | None]:
    parts: list[list[Message]] = []
    empty: list[str] = []
    for field, role in (("prompt", "user"), ("completion", "assistant")):
        value = decode_cell(row[field])
        if isinstance(value, str):
            parts.append([{"role": role, "content": value}])
            if not value.strip():
                empty.append(field)
            continue
        if not isinstance(value, list):
            return None, _Problem(
                "data_bad_prompt_completion",
                f"has a `{field}` that is neither text nor a list of messages",
                f"give `{field}` as text or as a list of messages",
            )
        problem = _message_problem(value, field=field)
        if problem:
            return None, problem
        parts.append(value)
    problem = _ends_with_assistant(parts[1], "completion")
    if problem is None and empty:
        # The runner accepts it, but an empty side is nearly always a data bug.
        problem = _Problem(
            "data_empty_text",
            f"has an empty `{' and '.join(empty)}`",
            "fill it in or drop the row",
            severity="warning",
        )
    if problem is not None and problem.severity == "error":
        return None, problem
    return parts[0] + parts[1], problem


def _conversation(
    row: Any, fmt: str | None, columns: Mapping[str, str] | None
) -> tuple[list[Message] | None, _Problem | None]:
    """The row as one conversation (as the runner converts it) and its problem, if any."""
    if not isinstance(row, dict):
        return None, _Problem(
            "data_bad_row",
            f"is a {type(row).__name__}, not an object",
            'write each row as an object with a "messages" list',
        )
    if fmt is not None:
        try:
            row = standard_row(row, fmt, columns)
        except FormatProblem as exc:
            return None, _Problem(exc.type, exc.detail, exc.fix)
    if "messages" in row:
        return _from_messages(row["messages"])
    if "prompt" in row and "completion" in row:
        return _from_prompt_completion(row)
    if "prompt" in row:
        return None, _Problem(
            "data_missing_columns",
            "has a `prompt` but no `completion`",
            "GKD's trainer needs the reference reply even for on-policy batches: add a "
            "`completion` column (prompt-only data is for TRL's DistillationTrainer)",
        )
    keys = ", ".join(map(str, list(row)[:8])) or "none"
    return None, _Problem(
        "data_missing_columns",
        f"has none of the columns of a known format (its keys: {keys})",
        'give each row a "messages" list of {role, content}, `prompt` and `completion`, alpaca\'s '
        "`instruction`/`output` or sharegpt's `conversations`; or set `format` and map your "
        "columns with `columns`",
    )


def check_rows(
    sample: RowSample, *, loc: Loc, fmt: str | None = None, columns: Mapping[str, str] | None = None
) -> tuple[list[Conversation], list[Diagnostic]]:
    """Check every sampled row and convert the usable ones to conversations.

    Args:
        sample: The rows read from one source.
        loc: The config key naming the source (`data.train.path`).
        fmt: `data.*.format`; None detects it from the first row, as the run does.
        columns: `data.*.columns`.

    Returns:
        The usable rows as `(where, messages)`, and one diagnostic per problem kind.
    """
    if fmt is None and sample.rows:
        fmt = detect_format(sample.rows[0][1])
    conversations: list[Conversation] = []
    # Rows group by problem kind and fix, so each distinct fix is said once.
    where: dict[tuple[str, str], list[str]] = defaultdict(list)
    first: dict[tuple[str, str], _Problem] = {}
    for ref, row in sample.rows:
        messages, problem = _conversation(row, fmt, columns)
        if messages is not None:
            conversations.append((ref, messages))
        if problem is not None:
            group = (problem.type, problem.fix)
            where[group].append(ref)
            first.setdefault(group, problem)
    diagnostics = []
    for group, refs in where.items():
        problem = first[group]
        named = ", ".join(refs[:_SHOWN])
        more = f" (and {len(refs) - _SHOWN} more of the first {len(sample.rows)})"
        rows = named + (more if len(refs) > _SHOWN else "")
        diagnostics.append(
            Diagnostic(
                loc=loc,
                message=f"{rows} of {sample.label} {problem.detail}; {problem.fix}",
                type=problem.type,
                severity=problem.severity,
            )
        )
    return conversations, diagnostics
