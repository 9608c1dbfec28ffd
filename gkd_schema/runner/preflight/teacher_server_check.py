"""`teacher.backend: server`: the server answers, serves the teacher, tokenizes like it, and returns K log-probs.

Checked before any weights load (`gkd validate --deep`, `gkd run`), with the config's
timeouts, so that a teacher server that is down, slow, serving another model or
tokenizer, too short for `training.max_length`, or capping `top_k` below what the
config asks for (vLLM's `--max-logprobs`, 20 by default) is an error at
`teacher.server_url` or `teacher.top_k`, each with the command that fixes it.
"""

from __future__ import annotations

import re
from pathlib import Path

from gkd_schema.config.diagnostics import Diagnostic, Loc
from gkd_schema.models import RunConfig
from gkd_schema.runner.clients.vllm_server import ServedModel, ServerError, VllmServer
from gkd_schema.runner.preflight.served_model import (
    PROBE,
    find_served,
    served_names,
    student_tokenizer,
    teacher_tokenizer,
    tokenizer_difference,
)

URL_LOC: Loc = ("teacher", "server_url")
TOP_K_LOC: Loc = ("teacher", "top_k")
RETRIES = 2  # of a request that found no server or a server-side error (`VllmServer`)


def teacher_server(config: RunConfig) -> VllmServer:
    """The teacher's server, with the config's timeouts (the caller checked the backend)."""
    t = config.teacher
    assert t.server_url is not None
    return VllmServer(t.server_url, t.connect_timeout_s, t.request_timeout_s, key="teacher.server_url",
                      retries=RETRIES)


def _server_error(exc: ServerError) -> Diagnostic:
    """The diagnostic of a failed request (each type spelled out: the checklist test reads them)."""
    if exc.kind == "unreachable":
        return Diagnostic(URL_LOC, str(exc), "teacher_server_unreachable")
    if exc.kind == "timeout":
        return Diagnostic(URL_LOC, str(exc), "teacher_server_timeout")
    if exc.kind == "refused":
        return Diagnostic(URL_LOC, str(exc), "teacher_server_refused")
    if exc.kind == "another_model":
        return Diagnostic(URL_LOC, str(exc), "teacher_server_serves_another_model")
    return Diagnostic(URL_LOC, str(exc), "teacher_server_bad_reply")


def _tokenizer_problems(config: RunConfig, base_dir: Path, server: VllmServer, model: str) -> list[Diagnostic]:
    for whose, tokenizer in [
        ("the student's", student_tokenizer(config, base_dir)),
        ("the teacher's", teacher_tokenizer(config, base_dir)),
    ]:
        if tokenizer is not None and (difference := tokenizer_difference(server, model, tokenizer)):
            return [
                Diagnostic(
                    URL_LOC,
                    difference.format(whose=whose) + ": the teacher's log-probs would be of other tokens; "
                    f"start the server with the tokenizer of `{config.gkd.teacher_model_name_or_path}` "
                    "(`--tokenizer`), which must be the student's",
                    "teacher_server_tokenizer_mismatch",
                )
            ]
    return []


def _top_k_problem(server: VllmServer, model: str, k: int) -> Diagnostic | None:
    """Ask for K log-probs of a few tokens; an error when the server refuses or returns fewer."""
    ids = server.tokenize(model, PROBE)[:8]
    try:
        answer = server.prompt_logprobs(model, [ids], k)[0]
    except ServerError as exc:
        cap = re.search(r"max allowed: (\d+)", str(exc))
        if exc.kind != "refused" or cap is None:
            raise
        given = f"at most {cap.group(1)}"
    else:
        fewest = min((len(p) for p in answer[1:] if p is not None), default=0)
        if fewest >= k:
            return None
        given = f"only {fewest}"
    return Diagnostic(
        TOP_K_LOC,
        f"`top_k: {k}` asks for {k} log-probs per token and the server at {server.url} returns {given}; "
        f"restart it with `--max-logprobs {k}` (or lower `teacher.top_k`)",
        "teacher_server_top_k_above_cap",
    )


def _length_problem(match: ServedModel, config: RunConfig) -> Diagnostic | None:
    # Scoring n tokens asks for one more to be generated (`max_tokens: 1`). An on-policy row
    # is a prompt the collator kept to `max_length` tokens plus up to `max_new_tokens`.
    max_length = config.training.max_length
    longest = max_length + (config.gkd.max_new_tokens if config.gkd.lmbda > 0 else 0)
    needed = longest + 1
    if match.max_model_len is None or match.max_model_len >= needed:
        return None
    what = (f"`training.max_length` + `gkd.max_new_tokens` ({longest}) tokens (an on-policy row at most)"
            if longest > max_length else f"`training.max_length` ({max_length}) tokens")
    return Diagnostic(
        URL_LOC,
        f"the teacher server accepts {match.max_model_len} tokens per sequence and scoring {what} takes "
        f"{needed}; restart it with `--max-model-len {needed}` or more",
        "teacher_server_max_model_len_too_short",
    )


def find_teacher(config: RunConfig, server: VllmServer, base_dir: Path) -> ServedModel:
    """The model the server serves as the teacher.

    Raises:
        ServerError: The server cannot be asked, or (kind `another_model`) serves another model.
    """
    served = server.models()
    teacher = config.gkd.teacher_model_name_or_path
    match = find_served(served, teacher, base_dir)
    if match is None:
        raise ServerError(
            "another_model",
            f"the server at {server.url} serves {served_names(served)}, not the teacher `{teacher}`; start it with "
            f"the teacher (`--model {teacher}`), or name it so (`--served-model-name {teacher}`)",
        )
    return match


def check_teacher_server(config: RunConfig, *, base_dir: Path) -> list[Diagnostic]:
    """Errors for a teacher server this run cannot use; nothing for a local teacher."""
    if config.teacher.backend != "server" or config.teacher.server_url is None or config.teacher.top_k is None:
        return []
    server = teacher_server(config)
    try:
        match = find_teacher(config, server, base_dir)
        out = [d for d in [_length_problem(match, config)] if d is not None]
        if tokenizer := _tokenizer_problems(config, base_dir, server, match.id):
            return out + tokenizer  # the K probe would send ids of another tokenizer
        if (problem := _top_k_problem(server, match.id, config.teacher.top_k)) is not None:
            out.append(problem)
    except ServerError as exc:
        return [_server_error(exc)]
    return out
