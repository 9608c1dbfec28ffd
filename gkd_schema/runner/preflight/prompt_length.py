"""Check that sampled conversations fit `training.max_length` the way TRL counts tokens.

TRL's GKD collator renders the prompt (all but the last message, with the generation
prompt) and the whole conversation with the chat template, and keeps the last
`max_length` tokens. A completion that fills `max_length` alone leaves no prompt and
stops the run; a prompt longer than `max_length - max_new_tokens` makes on-policy
sequences longer than `max_length` (more memory than planned) and truncates the
prompt's start in off-policy batches.
"""

from __future__ import annotations

from typing import Any

from gkd_schema.config.diagnostics import Diagnostic, Loc
from gkd_schema.runner.preflight.data_files import RowSample

MAX_LENGTH_LOC: Loc = ("training", "max_length")


def _count(tokenizer: Any, messages: list[dict[str, Any]], *, generation_prompt: bool) -> int:
    text = tokenizer.apply_chat_template(
        messages, add_generation_prompt=generation_prompt, tokenize=False
    )
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def check_lengths(
    tokenizer: Any,
    conversations: list[tuple[str, list[dict[str, Any]]]],
    *,
    sample: RowSample,
    loc: Loc,
    max_length: int,
    max_new_tokens: int,
) -> list[Diagnostic]:
    """Token-count checks of well-formed conversations with the student's tokenizer.

    Args:
        tokenizer: The student's tokenizer (with a chat template).
        conversations: `(where, messages)` pairs ending with the assistant's reply.
        sample: Where they came from (for the file name).
        loc: The data source's config key, for chat-template failures.
        max_length: `training.max_length`.
        max_new_tokens: `gkd.max_new_tokens`.

    Returns:
        An error when the chat template rejects a conversation or a completion fills
        `max_length`; a warning when a prompt leaves less than `max_new_tokens` room.
    """
    longest_prompt, longest_completion = 0, 0
    too_long: list[int] = []
    for ref, messages in conversations:
        try:
            prompt = _count(tokenizer, messages[:-1], generation_prompt=True)
            full = _count(tokenizer, messages, generation_prompt=False)
        except Exception as exc:  # jinja raises (e.g. `raise_exception`) on shapes it rejects
            return [
                Diagnostic(
                    loc=loc,
                    message=(
                        f"the student's chat template rejects {ref} of {sample.label} "
                        f"({exc}); change the rows to the roles and order the "
                        "template accepts (some templates refuse `system` or require "
                        "alternating user/assistant turns)"
                    ),
                    type="chat_template_rejects_row",
                )
            ]
        longest_prompt = max(longest_prompt, prompt)
        longest_completion = max(longest_completion, full - prompt)
        if prompt + max_new_tokens > max_length:
            too_long.append(prompt)
    out: list[Diagnostic] = []
    if longest_completion >= max_length:
        out.append(
            Diagnostic(
                loc=MAX_LENGTH_LOC,
                message=(
                    f"a completion in {sample.label} is {longest_completion} tokens, which "
                    f"fills `training.max_length` ({max_length}) and leaves no prompt; TRL "
                    f"stops at that batch. Raise `training.max_length` above "
                    f"{longest_completion + longest_prompt} or shorten the completions"
                ),
                type="completion_fills_max_length",
            )
        )
    if too_long:
        need = longest_prompt + max_new_tokens
        out.append(
            Diagnostic(
                loc=MAX_LENGTH_LOC,
                message=(
                    f"{len(too_long)} of the first {len(conversations)} prompts in "
                    f"{sample.label} leave less than `gkd.max_new_tokens` ({max_new_tokens}) "
                    f"within `training.max_length` ({max_length}); the longest is "
                    f"{longest_prompt} tokens, so on-policy sequences reach {need} tokens. "
                    f"Raise `training.max_length` to {need}, lower `gkd.max_new_tokens`, or "
                    "shorten the prompts"
                ),
                type="prompt_too_long",
                severity="warning",
            )
        )
    return out
