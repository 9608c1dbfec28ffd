"""The student's tokenizer as the run uses it, and the first training row rendered with it (`--dry-run`)."""

from __future__ import annotations

from typing import Any

from gkd_schema.runner.preflight.chat_template import apply_chat_template
from gkd_schema.runner.preflight.run_plan import RunPlan
from gkd_schema.runner.preflight.served_model import student_tokenizer, teacher_tokenizer

_SHOWN = 300  # characters of the rendered row


def load_student_tokenizer(plan: RunPlan) -> Any:
    """The student's tokenizer with `model.chat_template` applied (preflight reported one it cannot find)."""
    from transformers import AutoTokenizer

    m = plan.config.model
    tokenizer = AutoTokenizer.from_pretrained(
        m.tokenizer_name_or_path or m.name_or_path,
        revision=m.revision if m.tokenizer_name_or_path is None else None,
        trust_remote_code=m.trust_remote_code,
    )
    apply_chat_template(tokenizer, plan.config, plan.base_dir)
    return tokenizer


def _teacher_reads(plan: RunPlan, text: str, tokens: int) -> str:
    config = plan.config
    if config.teacher.cross_tokenizer is not None:
        teacher = teacher_tokenizer(config, plan.base_dir)
        if teacher is None:
            return "this text, re-tokenised with its own tokenizer (`cross_tokenizer: uld`)"
        count = len(teacher(text, add_special_tokens=False)["input_ids"])
        return f"this text, re-tokenised with its own tokenizer: {count} tokens (`cross_tokenizer: uld`)"
    where = "sent to the teacher server" if config.teacher.backend == "server" else "one tokenizer"
    return f"these same {tokens} token ids ({where}; gkd never uses the teacher's own chat template)"


def rendered_row_lines(plan: RunPlan, train: Any) -> list[str]:
    """The first training row as the student's template renders it, and what the teacher reads of it.

    The tokenizers are read as preflight read them (a local folder or the Hub cache, nothing
    downloaded); a row that cannot be rendered is said so, never an error of the dry run.
    """
    if train is None or len(train) == 0:
        return []
    try:
        return _rendered(plan, list(train[0]["messages"]))
    except Exception as exc:  # the template or tokenizer failing here is preflight's to report
        return [f"First row:  not rendered ({type(exc).__name__}: {exc})"]


def _rendered(plan: RunPlan, messages: list[dict[str, Any]]) -> list[str]:
    tokenizer = student_tokenizer(plan.config, plan.base_dir)
    if tokenizer is None:
        return ["First row:  not rendered (the student's tokenizer is not available offline)"]
    apply_chat_template(tokenizer, plan.config, plan.base_dir)
    text = str(tokenizer.apply_chat_template(messages, tokenize=False))
    tokens = len(tokenizer(text, add_special_tokens=False)["input_ids"])
    if messages[-1]["role"] == "assistant":
        prompt = str(tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=False))
        completion = tokens - len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        split = f"{tokens} tokens, the last {completion} of them the completion"
    else:
        split = f"{tokens} tokens, all prompt"
    shown = text if len(text) <= _SHOWN else text[:_SHOWN] + "..."
    return [
        f"First row:  rendered by the student's chat template ({split}):",
        f"            {shown!r}",
        f"            the teacher reads {_teacher_reads(plan, text, tokens)}",
    ]
