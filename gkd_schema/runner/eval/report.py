"""Render an `EvalResult`: a rich table for people, Markdown for the model card, JSON for machines, a summary."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

from gkd_schema.runner.eval.metrics import Divergences
from gkd_schema.runner.eval.scoring import TEACHER, EvalResult, ModelScores

if TYPE_CHECKING:
    from rich.table import Table

TABLE_WIDTH = 120


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _nats(div: Divergences | None, attr: str) -> str:
    return "-" if div is None else f"{getattr(div, attr):.3f}"


# (where, metric) of each column after the model's label: two header lines in the rich table.
_SCORES = (("", "exact"), ("", "agree"))
_DIVERGENCES = tuple((where, metric) for where in ("own", "data") for metric in ("rev KL", "fwd KL", "JSD"))


def _across_tokenizers(result: EvalResult) -> bool:
    """Whether the result has no divergences at all (the teacher has another tokenizer)."""
    return all(m.own is None for m in result.models)


def _columns(result: EvalResult) -> tuple[tuple[str, str], ...]:
    return _SCORES if _across_tokenizers(result) else _SCORES + _DIVERGENCES


def _caption(result: EvalResult) -> str:
    head = (
        f"{result.prompts} prompts ({result.split} split), greedy completions of at most "
        f"{result.max_new_tokens} tokens."
    )
    if _across_tokenizers(result):
        return (
            f"{head} exact: answer equals the reference; agree: answer text identical to the teacher's. "
            "The teacher has another tokenizer, so divergences (one vocabulary) are not defined."
        )
    return (
        f"{head} exact: answer equals the reference; agree: "
        "greedy completion identical to the teacher's. Divergences to the teacher in nats "
        "per token "
        "(rev KL = KL(model||teacher), fwd KL = KL(teacher||model)) on the model's own "
        "completions and on the dataset's."
    )


def _cells(row: ModelScores, result: EvalResult) -> list[str]:
    """A model's row after its label, in the order of `_columns(result)`."""
    cells = [_pct(row.exact_match), _pct(row.greedy_agreement)]
    if not _across_tokenizers(result):
        for div in (row.own, row.dataset):
            cells += [_nats(div, "reverse_kl"), _nats(div, "forward_kl"), _nats(div, "jsd")]
    return cells


def build_table(result: EvalResult, title: str | None = None) -> Table:
    """The evaluation as a rich table: one row per model, teacher first.

    Args:
        result: What `evaluate_models` returned.
        title: Shown above the table.

    Returns:
        A `rich.table.Table`.
    """
    from rich import box
    from rich.table import Table

    table = Table(
        title=title,
        caption=_caption(result),
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("model", style="bold", no_wrap=True)
    for where, metric in _columns(result):
        table.add_column(f"{where}\n{metric}", justify="right", no_wrap=True)
    for row in result.models:
        table.add_row(row.label, *_cells(row, result), style="dim" if row.label == TEACHER else None)
    return table


def render_text(result: EvalResult, title: str | None = None, width: int = TABLE_WIDTH) -> str:
    """The table as plain text (for logs and `gkd run`'s console lines).

    Args:
        result: What `evaluate_models` returned.
        title: Shown above the table.
        width: Characters per line.

    Returns:
        The rendered table, without colour codes.
    """
    from rich.console import Console

    buffer = io.StringIO()
    Console(file=buffer, width=width, no_color=True, highlight=False).print(build_table(result, title))
    return buffer.getvalue().rstrip("\n")


def render_markdown(result: EvalResult) -> str:
    """The table in Markdown (for the model card): a header row, one row per model, the caption.

    Args:
        result: What `evaluate_models` returned.

    Returns:
        Markdown text ending in a newline.
    """
    headers = [f"{where} {metric}".strip() for where, metric in _columns(result)]
    lines = [
        "| model | " + " | ".join(headers) + " |",
        "|---|" + "---:|" * len(headers),
        *(f"| {row.label} | " + " | ".join(_cells(row, result)) + " |" for row in result.models),
        "",
        _caption(result),
    ]
    return "\n".join(lines) + "\n"


def render_json(result: EvalResult) -> str:
    """The result as indented JSON: `split`, `prompts`, `max_new_tokens`, `models`.

    Each model has `label`, `exact_match` (null without references),
    `greedy_agreement`, and `own` / `dataset` divergences (`forward_kl`, `reverse_kl`,
    `jsd`, `tokens`; `dataset` is null without references; both are null when the teacher
    has another tokenizer).
    """
    return json.dumps(result.to_dict(), indent=2)


def _students(result: EvalResult) -> list[ModelScores]:
    return [m for m in result.models if m.label != TEACHER]


def render_summary(result: EvalResult) -> str:
    """One line comparing the first and last student rows, or "" with fewer than two.

    Args:
        result: A result with the student before and after training.

    Returns:
        E.g. `Student exact match 0.0% -> 99.5% (teacher 100.0%); reverse KL to the
        teacher 2.41 -> 0.013 nats/token.`
    """
    students = _students(result)
    if len(students) < 2:
        return ""
    first, last = students[0], students[-1]
    teacher = next((m for m in result.models if m.label == TEACHER), None)
    parts = []
    if first.exact_match is not None and last.exact_match is not None:
        ref = f" (teacher {_pct(teacher.exact_match)})" if teacher else ""
        parts.append(f"exact match {_pct(first.exact_match)} -> {_pct(last.exact_match)}{ref}")
    if first.own is not None and last.own is not None:
        parts.append(
            f"reverse KL to the teacher on its own completions {first.own.reverse_kl:.4f} -> "
            f"{last.own.reverse_kl:.4f} nats/token"
        )
    else:
        parts.append(f"answers agreeing with the teacher's {_pct(first.greedy_agreement)} -> "
                     f"{_pct(last.greedy_agreement)}")
    return "Student " + "; ".join(parts) + "."
