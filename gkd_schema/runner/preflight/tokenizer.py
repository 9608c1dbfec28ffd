"""Check the student's tokenizer: chat template, pad token, and size against the model.

The tokenizer is loaded with `AutoTokenizer.from_pretrained` on a local folder. That
reads no weights and is the only way to be exact: the chat template may live in
tokenizer_config.json, chat_template.jinja or chat_template.json, and a pad token may
come from the tokenizer class's defaults rather than any file.
"""

from __future__ import annotations

from typing import Any

from gkd_schema.config.diagnostics import Diagnostic, Loc
from gkd_schema.runner.preflight.guard import exception_text
from gkd_schema.runner.preflight.locate import Located


def load_tokenizer(
    found: Located, *, loc: Loc, trust_remote_code: bool
) -> tuple[Any | None, list[Diagnostic]]:
    """Load a tokenizer from a local folder, or say why it cannot be loaded.

    Args:
        found: The folder (a local path or a cached Hub snapshot).
        loc: The config key that names the tokenizer.
        trust_remote_code: `model.trust_remote_code`.

    Returns:
        The tokenizer, or None and an error (a warning for a partial Hub cache).
    """
    from transformers import AutoTokenizer

    key = ".".join(map(str, loc))
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            str(found.directory), trust_remote_code=trust_remote_code
        )
    except Exception as exc:  # transformers raises many kinds here; all mean "unusable"
        reason = exception_text(exc)
        if found.from_hub:
            return None, [
                Diagnostic(
                    loc=loc,
                    message=(
                        f"the tokenizer of `{found.label}` is not fully in the local Hugging "
                        f"Face cache ({reason}); its checks were skipped. Run "
                        f"`hf download {found.label}` to check it now"
                    ),
                    type="not_cached",
                    severity="warning",
                )
            ]
        return None, [
            Diagnostic(
                loc=loc,
                message=(
                    f"cannot load a tokenizer from {found.label}: {reason}; point `{key}` at "
                    "a folder saved with `tokenizer.save_pretrained`"
                ),
                type="tokenizer_load_failed",
            )
        ]
    return tokenizer, []


def check_tokenizer(
    tokenizer: Any, *, found: Located, loc: Loc, student_vocab: int | None, student_label: str
) -> list[Diagnostic]:
    """Chat template, pad token and length checks of the student's tokenizer.

    Args:
        tokenizer: The loaded tokenizer.
        found: Where it was loaded from.
        loc: The config key naming the tokenizer.
        student_vocab: The student's `vocab_size` from config.json, if known.
        student_label: How messages name the student.

    Returns:
        Errors for a missing chat template or pad token and for token ids beyond the
        student's embedding.
    """
    out: list[Diagnostic] = []
    key = ".".join(map(str, loc))
    # A Hub snapshot is a cache: editing files there is lost, so never suggest it.
    config_file = None if found.from_hub else f"{found.label.rstrip('/')}/tokenizer_config.json"
    # The tokenizer may come from another folder than the model: say which key does that.
    tokenizer_key = "model.tokenizer_name_or_path"
    if not getattr(tokenizer, "chat_template", None):
        out.append(
            Diagnostic(
                loc=loc,
                message=(
                    f"the tokenizer in {found.label} has no chat template; TRL's GKD trainer "
                    "formats every conversation with it (and fails at the first batch). Set "
                    "`model.chat_template` to one of TRL's templates (e.g. `qwen2_5`) or a .jinja "
                    f"file, or set `{tokenizer_key}` to the instruct/chat version of the model's "
                    "tokenizer (e.g. `Qwen/Qwen2.5-0.5B-Instruct`)"
                ),
                type="missing_chat_template",
            )
        )
    if getattr(tokenizer, "pad_token", None) is None:
        eos = getattr(tokenizer, "eos_token", None)
        token = f'"{eos}"' if eos else '"<a token of its vocabulary>"'
        suggestion = (
            f'add `"pad_token": {token}` to {config_file}'
            if config_file is not None
            else f"save it locally with `tokenizer.pad_token = {token}` and "
            "`tokenizer.save_pretrained(...)`"
        )
        out.append(
            Diagnostic(
                loc=loc,
                message=(
                    f"the tokenizer in {found.label} has no pad token; TRL's GKD collator "
                    "pads batches with it and stops without one (reusing the end-of-sequence "
                    f"token is the usual choice). Fix: {suggestion}, or "
                    f"set `{tokenizer_key}` to a tokenizer that has one"
                ),
                type="missing_pad_token",
            )
        )
    length = len(tokenizer)
    if student_vocab is not None and length > student_vocab:
        out.append(
            Diagnostic(
                loc=loc,
                message=(
                    f"the tokenizer in {found.label} has {length} tokens but the student "
                    f"{student_label} has vocab_size {student_vocab} (config.json), so token "
                    f"ids from {student_vocab} up index past its embedding. Use the tokenizer "
                    f"saved with the student (`{key}`), or resize the student's embeddings "
                    "(`resize_token_embeddings`) and save it again"
                ),
                type="tokenizer_exceeds_vocab",
            )
        )
    return out
