"""Cross-field rules of the `teacher` section: what a server teacher and a cross-tokenizer teacher need."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from gkd_schema.models.rule_types import Finding, RunSections

_SERVER_ONLY = ("connect_timeout_s", "request_timeout_s", "prefetch")


def _server_needs_top_k(cfg: RunSections) -> Iterator[Finding]:
    if cfg.teacher.backend == "server" and cfg.teacher.top_k is None:
        yield Finding(
            ("teacher", "top_k"),
            "`teacher.backend: server` returns the teacher's top K log-probs per token, never its "
            "full distribution: set `teacher.top_k` (vLLM serves up to 20 unless started with "
            "`--max-logprobs K`)",
            "teacher_server_needs_top_k",
            "error",
        )


def _seq_kd_with_server(cfg: RunSections) -> Iterator[Finding]:
    # A server answers with log-probs of given tokens; sampling whole teacher completions
    # through it is another request type gkd does not send, so seq_kd needs the local teacher.
    if cfg.teacher.backend == "server" and cfg.gkd.seq_kd and cfg.gkd.lmbda < 1.0:
        yield Finding(
            ("gkd", "seq_kd"),
            "`seq_kd` trains on completions the teacher samples, and `teacher.backend: server` "
            "only scores tokens; set `seq_kd: false` (dataset and on-policy batches still use the "
            "server) or `teacher.backend: local`",
            "seq_kd_needs_local_teacher",
            "error",
        )


def _server_settings_unused(cfg: RunSections) -> Iterator[Finding]:
    if cfg.teacher.backend == "server":
        return
    for key in _SERVER_ONLY:
        if key in cfg.teacher.model_fields_set:
            yield Finding(
                ("teacher", key),
                f"`{key}` is read only with `teacher.backend: server`; set the backend or remove it",
                "teacher_server_setting_unused",
                "warning",
            )


def _init_kwargs_with_server(cfg: RunSections) -> Iterator[Finding]:
    if cfg.teacher.backend == "server" and "teacher_model_init_kwargs" in cfg.gkd.model_fields_set:
        yield Finding(
            ("gkd", "teacher_model_init_kwargs"),
            "with `teacher.backend: server` the teacher is loaded by the server, not here, so "
            "`teacher_model_init_kwargs` is not read; give the server its settings (e.g. `--dtype`) "
            "and remove this key",
            "teacher_init_kwargs_unused",
            "warning",
        )


def _cross_tokenizer_limits(cfg: RunSections) -> Iterator[Finding]:
    if cfg.teacher.cross_tokenizer is None:
        return
    if cfg.teacher.top_k is not None:
        yield Finding(
            ("teacher", "top_k"),
            "`cross_tokenizer: uld` compares the teacher's whole distribution (sorted, for the tokens "
            "the vocabularies do not share), not its top K; remove `top_k`",
            "cross_tokenizer_with_top_k",
            "error",
        )
    if cfg.teacher.backend == "server":
        yield Finding(
            ("teacher", "backend"),
            "`cross_tokenizer: uld` needs the teacher's whole distribution, which a server does not "
            "send; use `backend: local`",
            "cross_tokenizer_with_server",
            "error",
        )
    if cfg.gkd.seq_kd and cfg.gkd.lmbda < 1.0:
        yield Finding(
            ("gkd", "seq_kd"),
            "`seq_kd` trains the student on the teacher's token ids, which are another tokenizer's "
            "with `cross_tokenizer: uld`; set `seq_kd: false`",
            "seq_kd_needs_shared_tokenizer",
            "error",
        )
    if "loss_implementation" in cfg.gkd.model_fields_set:
        yield Finding(
            ("gkd", "loss_implementation"),
            "`cross_tokenizer: uld` has its own loss (GOLD's hybrid ULD), so `loss_implementation` "
            "is not read; remove it",
            "cross_tokenizer_ignores_loss_implementation",
            "warning",
        )


TEACHER_RULES: tuple[Callable[[RunSections], Iterator[Finding]], ...] = (
    _server_needs_top_k,
    _seq_kd_with_server,
    _server_settings_unused,
    _init_kwargs_with_server,
    _cross_tokenizer_limits,
)
