"""`generation.vllm.mode: server`: the server answers, serves the student, tokenizes like it, and reloads.

Checked before any weights load (`gkd validate --deep`, `gkd run`), with the config's
timeouts, so that a server that is down, slow, serving another model or tokenizer, too
short for `training.max_length`, or started without the development endpoints gkd
reloads weights through is an error at `generation.vllm.server_url`, not a failure
minutes into the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gkd_schema.config.diagnostics import Diagnostic, Loc
from gkd_schema.models import RunConfig
from gkd_schema.runner.clients.vllm_server import ServedModel, ServerError, VllmServer
from gkd_schema.runner.preflight.locate import is_local_model, locate_model, resolve_path
from gkd_schema.runner.preflight.tokenizer import load_tokenizer

URL_LOC: Loc = ("generation", "vllm", "server_url")
# Letters, digits, punctuation and spaces: what every tokenizer splits differently.
_PROBE = "Distil: 12 + 30 = 42, isn't it? Ünïcödé"


def _server_error(exc: ServerError) -> Diagnostic:
    """The diagnostic of a failed request (each type spelled out: the checklist test reads them)."""
    if exc.kind == "unreachable":
        return Diagnostic(URL_LOC, str(exc), "vllm_server_unreachable")
    if exc.kind == "timeout":
        return Diagnostic(URL_LOC, str(exc), "vllm_server_timeout")
    if exc.kind == "refused":
        return Diagnostic(URL_LOC, str(exc), "vllm_server_refused")
    return Diagnostic(URL_LOC, str(exc), "vllm_server_bad_reply")


def _same_model(served: ServedModel, student: str, base_dir: Path) -> bool:
    names = {served.id, served.root}
    if student in names:
        return True
    if is_local_model(student, base_dir):
        mine = resolve_path(student, base_dir).resolve()
        return any(Path(name).expanduser().resolve() == mine for name in names if name.startswith(("/", ".", "~")))
    return False


def _tokenizer_problem(server: VllmServer, model: str, tokenizer: Any) -> Diagnostic | None:
    probe = _PROBE + (tokenizer.eos_token or "")
    mine = tokenizer(probe, add_special_tokens=False)["input_ids"]
    theirs = server.tokenize(model, probe)
    if theirs == mine:
        return None
    return Diagnostic(
        URL_LOC,
        f"the server's tokenizer splits {probe!r} into {theirs[:12]}... and the student's into {mine[:12]}...: "
        "the ids the server returns would mean other tokens; start the server with the student's tokenizer "
        "(`--tokenizer`)",
        "vllm_server_tokenizer_mismatch",
    )


def _student_tokenizer(config: RunConfig, base_dir: Path) -> Any | None:
    """The student's tokenizer, or None where the model checks already report why not."""
    name = config.model.tokenizer_name_or_path or config.model.name_or_path
    found, _ = locate_model(name, loc=("model", "name_or_path"), base_dir=base_dir, need_weights=False)
    if found is None:
        return None
    trust = config.model.trust_remote_code
    tokenizer, _ = load_tokenizer(found, loc=("model", "name_or_path"), trust_remote_code=trust)
    return tokenizer


def check_vllm_server(config: RunConfig, *, base_dir: Path) -> list[Diagnostic]:
    """Errors for a vLLM server this run cannot use; nothing for other backends."""
    g = config.generation
    if g.backend != "vllm" or g.vllm.mode != "server" or g.vllm.server_url is None:
        return []
    server = VllmServer(g.vllm.server_url, g.vllm.connect_timeout_s, g.vllm.request_timeout_s)
    student = config.model.name_or_path
    try:
        served = server.models()
        match = next((m for m in served if _same_model(m, student, base_dir)), None)
        if match is None:
            names = ", ".join(f"`{m.root}`" for m in served) or "nothing"
            return [
                Diagnostic(
                    URL_LOC,
                    f"the server at {server.url} serves {names}, not the student `{student}`; start it with "
                    f"the student (`--model {student}`), or name it so (`--served-model-name {student}`)",
                    "vllm_server_serves_another_model",
                )
            ]
        out: list[Diagnostic] = []
        if match.max_model_len is not None and match.max_model_len < config.training.max_length:
            out.append(
                Diagnostic(
                    URL_LOC,
                    f"the server accepts {match.max_model_len} tokens per sequence, less than "
                    f"`training.max_length` ({config.training.max_length}); restart it with "
                    f"`--max-model-len {config.training.max_length}` or more",
                    "vllm_server_max_model_len_too_short",
                )
            )
        tokenizer = _student_tokenizer(config, base_dir)
        if tokenizer is not None and (problem := _tokenizer_problem(server, match.id, tokenizer)):
            out.append(problem)
        server.reset_prefix_cache()  # harmless, and only there with the endpoints weight syncs use
    except ServerError as exc:
        return [_server_error(exc)]
    return out
