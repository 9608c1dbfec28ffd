"""`model.chat_template` and `data.system_prompt`: how conversations become the student's text.

GKD feeds one token sequence, made with the student's tokenizer and chat template, to
both models, so the teacher always sees the student's format, whatever template its own
tokenizer has. A base model without a template gets one here: a Jinja file, or one of
the templates TRL ships (`trl/chat_templates/NAME.jinja`, e.g. `qwen2_5`, `llama3`).
"""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path
from typing import Any

from gkd_schema.config.diagnostics import Diagnostic
from gkd_schema.models.run_config import RunConfig

TEMPLATE_LOC = ("model", "chat_template")


def trl_templates() -> dict[str, Path]:
    """The chat templates TRL ships, by name; found without importing TRL."""
    spec = importlib.util.find_spec("trl")
    if spec is None or not spec.submodule_search_locations:
        return {}
    folder = Path(next(iter(spec.submodule_search_locations))) / "chat_templates"
    return {path.stem: path for path in sorted(folder.glob("*.jinja"))}


def _is_path(value: str) -> bool:
    return value.endswith(".jinja") or value.startswith(("./", "../", "/", "~"))


def resolve_chat_template(value: str, base_dir: Path) -> tuple[str | None, list[Diagnostic]]:
    """The template text `model.chat_template` names, or a located error.

    Args:
        value: A path to a Jinja file, or the name of a template TRL ships.
        base_dir: Where relative paths start.

    Returns:
        `(text, [])`, or `(None, [error])`.
    """
    if _is_path(value):
        path = Path(value).expanduser()
        path = path if path.is_absolute() else base_dir / path
        try:
            return path.read_text("utf-8"), []
        except (OSError, UnicodeDecodeError) as exc:
            reason = "no such file" if isinstance(exc, FileNotFoundError) else str(exc)
            return None, [
                Diagnostic(
                    TEMPLATE_LOC,
                    f"cannot read the chat template {path} ({reason}); point `model.chat_template` at a "
                    "Jinja file, or name one of TRL's templates (e.g. `qwen2_5`)",
                    "chat_template_not_found",
                )
            ]
    shipped = trl_templates()
    if value in shipped:
        return shipped[value].read_text("utf-8"), []
    close = difflib.get_close_matches(value, list(shipped), n=3)
    hint = f"did you mean {', '.join(f'`{c}`' for c in close)}? " if close else ""
    names = ", ".join(name for name in shipped if not name.endswith("_training"))
    return None, [
        Diagnostic(
            TEMPLATE_LOC,
            f"`{value}` is not a chat template TRL ships; {hint}TRL's templates: {names}; or give a path "
            "to a .jinja file",
            "chat_template_not_found",
        )
    ]


def apply_chat_template(tokenizer: Any, config: RunConfig, base_dir: Path) -> list[Diagnostic]:
    """Give `tokenizer` the template `model.chat_template` names (nothing when unset).

    Returns:
        The error when the template cannot be found; the tokenizer is then unchanged.
    """
    if config.model.chat_template is None:
        return []
    text, found = resolve_chat_template(config.model.chat_template, base_dir)
    if text is not None:
        tokenizer.chat_template = text
    return found


def with_system_prompt(messages: list[dict[str, Any]], system_prompt: str | None) -> list[dict[str, Any]]:
    """`messages` with `data.system_prompt` first, unless the conversation has its own."""
    if not system_prompt or (messages and messages[0].get("role") == "system"):
        return messages
    return [{"role": "system", "content": system_prompt}, *messages]
