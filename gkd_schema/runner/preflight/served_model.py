"""What both server checks ask a vLLM server: is this the model named, and does it tokenize alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gkd_schema.config.diagnostics import Loc
from gkd_schema.models import RunConfig
from gkd_schema.runner.clients.vllm_server import ServedModel, VllmServer
from gkd_schema.runner.preflight.locate import is_local_model, locate_model, resolve_path
from gkd_schema.runner.preflight.tokenizer import load_tokenizer

# Letters, digits, punctuation and spaces: what every tokenizer splits differently.
PROBE = "Distil: 12 + 30 = 42, isn't it? Ünïcödé"


def same_model(served: ServedModel, name: str, base_dir: Path) -> bool:
    """Whether the server's model is `name` (a Hub id, or a local folder however spelled)."""
    names = {served.id, served.root}
    if name in names:
        return True
    if is_local_model(name, base_dir):
        mine = resolve_path(name, base_dir).resolve()
        return any(Path(n).expanduser().resolve() == mine for n in names if n.startswith(("/", ".", "~")))
    return False


def find_served(served: list[ServedModel], name: str, base_dir: Path) -> ServedModel | None:
    """The served model that is `name`, if any."""
    return next((m for m in served if same_model(m, name, base_dir)), None)


def served_names(served: list[ServedModel]) -> str:
    """What a server serves, for a message."""
    return ", ".join(f"`{m.root}`" for m in served) or "nothing"


def tokenizer_difference(server: VllmServer, model: str, tokenizer: Any) -> str | None:
    """How the server's tokenizer splits the probe differently from `tokenizer`; None when alike."""
    probe = PROBE + (tokenizer.eos_token or "")
    mine = tokenizer(probe, add_special_tokens=False)["input_ids"]
    theirs = server.tokenize(model, probe)
    if theirs == mine:
        return None
    return f"the server's tokenizer splits {probe!r} into {theirs[:12]}... and {{whose}} into {mine[:12]}..."


def _located_tokenizer(name: str, loc: Loc, base_dir: Path, trust_remote_code: bool) -> Any | None:
    found, _ = locate_model(name, loc=loc, base_dir=base_dir, need_weights=False)
    if found is None:
        return None
    tokenizer, _ = load_tokenizer(found, loc=loc, trust_remote_code=trust_remote_code)
    return tokenizer


def student_tokenizer(config: RunConfig, base_dir: Path) -> Any | None:
    """The student's tokenizer (from its folder or the Hub cache), or None where the model checks say why not."""
    name = config.model.tokenizer_name_or_path or config.model.name_or_path
    return _located_tokenizer(name, ("model", "name_or_path"), base_dir, config.model.trust_remote_code)


def teacher_tokenizer(config: RunConfig, base_dir: Path) -> Any | None:
    """The teacher's tokenizer, found the same way."""
    name, trust = config.gkd.teacher_model_name_or_path, config.gkd.teacher_trust_remote_code
    return _located_tokenizer(name, ("gkd", "teacher_model_name_or_path"), base_dir, trust)
