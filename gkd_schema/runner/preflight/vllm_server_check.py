"""`generation.vllm.mode: server`: the server answers, serves the student, tokenizes like it, and reloads.

Checked before any weights load (`gkd validate --deep`, `gkd run`), with the config's
timeouts, so that a server that is down, slow, serving another model or tokenizer, too
short for `training.max_length`, started without the development endpoints gkd
reloads weights through, or without the weight-transfer engine `weight_sync` names is
an error at `generation.vllm.server_url` (`weight_sync`), not a failure minutes into
the run.
"""

from __future__ import annotations

from pathlib import Path

from gkd_schema.config.diagnostics import Diagnostic, Loc
from gkd_schema.models import RunConfig
from gkd_schema.models.weight_sync import SERVER_BACKEND, SERVER_FLAG
from gkd_schema.runner.clients.vllm_server import ServerError, VllmServer
from gkd_schema.runner.preflight.served_model import find_served, served_names, student_tokenizer, tokenizer_difference

URL_LOC: Loc = ("generation", "vllm", "server_url")
SYNC_LOC: Loc = ("generation", "vllm", "weight_sync")


def _server_error(exc: ServerError) -> Diagnostic:
    """The diagnostic of a failed request (each type spelled out: the checklist test reads them)."""
    if exc.kind == "unreachable":
        return Diagnostic(URL_LOC, str(exc), "vllm_server_unreachable")
    if exc.kind == "timeout":
        return Diagnostic(URL_LOC, str(exc), "vllm_server_timeout")
    if exc.kind == "refused":
        return Diagnostic(URL_LOC, str(exc), "vllm_server_refused")
    return Diagnostic(URL_LOC, str(exc), "vllm_server_bad_reply")


def _transfer_problems(server: VllmServer, weight_sync: str) -> list[Diagnostic]:
    """A broadcast needs the server's weight-transfer engine, of the same backend."""
    wanted = SERVER_FLAG[weight_sync]
    backend = server.weight_transfer_backend()
    if backend == SERVER_BACKEND[weight_sync]:
        return []
    started = "without a weight-transfer engine" if backend is None else f"with the `{backend}` weight-transfer engine"
    return [
        Diagnostic(
            SYNC_LOC,
            f"the server at {server.url} was started {started}, and `weight_sync: {weight_sync}` needs "
            f"`{wanted}`; restart it with that, or use `weight_sync: checkpoint`",
            "vllm_server_weight_transfer_mismatch",
        )
    ]


def check_vllm_server(config: RunConfig, *, base_dir: Path) -> list[Diagnostic]:
    """Errors for a vLLM server this run cannot use; nothing for other backends."""
    g = config.generation
    if g.backend != "vllm" or g.vllm.mode != "server" or g.vllm.server_url is None:
        return []
    server = VllmServer(g.vllm.server_url, g.vllm.connect_timeout_s, g.vllm.request_timeout_s)
    student = config.model.name_or_path
    try:
        served = server.models()
        match = find_served(served, student, base_dir)
        if match is None:
            return [
                Diagnostic(
                    URL_LOC,
                    f"the server at {server.url} serves {served_names(served)}, not the student `{student}`; start "
                    f"it with the student (`--model {student}`), or name it so (`--served-model-name {student}`)",
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
        tokenizer = student_tokenizer(config, base_dir)
        if tokenizer is not None and (difference := tokenizer_difference(server, match.id, tokenizer)):
            out.append(
                Diagnostic(
                    URL_LOC,
                    difference.format(whose="the student's")
                    + ": the ids the server returns would mean other tokens; start the server with the "
                    "student's tokenizer (`--tokenizer`)",
                    "vllm_server_tokenizer_mismatch",
                )
            )
        server.reset_prefix_cache()  # harmless, and only there with the endpoints weight syncs use
        if (sync := g.vllm.weight_sync) != "checkpoint":
            out.extend(_transfer_problems(server, sync))
    except ServerError as exc:
        return [_server_error(exc)]
    return out
