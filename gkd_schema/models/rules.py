"""Cross-field rules a JSON Schema cannot express, checked on a whole run config.

Each rule looks at a validated `RunConfig` and yields findings: errors stop a run,
warnings are printed and do not fail validation. Rules confined to one section
(bf16 with fp16, say) live on that section's model instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import PurePath

from gkd_schema.models.generation_rules import GENERATION_RULES
from gkd_schema.models.identifiers import HUB_REPO_ID_SCHEMA_PATTERN
from gkd_schema.models.rule_types import Finding, RunSections
from gkd_schema.models.teacher_rules import TEACHER_RULES
from gkd_schema.models.training_section import TrainingSection

__all__ = ["RULES", "Finding", "RunSections", "check_rules"]


def _prompt_room(cfg: RunSections) -> Iterator[Finding]:
    max_len = cfg.training.max_length
    if cfg.gkd.max_new_tokens >= max_len:
        yield Finding(
            ("gkd", "max_new_tokens"),
            f"{cfg.gkd.max_new_tokens} new tokens leave no room for a prompt within "
            f"`training.max_length` ({max_len}); lower `max_new_tokens` below {max_len} "
            "or raise `training.max_length`",
            "no_room_for_prompt",
            "error",
        )


def _eval_needs_data(cfg: RunSections) -> Iterator[Finding]:
    if cfg.training.eval_strategy != "no" and cfg.data.eval is None:
        yield Finding(
            ("training", "eval_strategy"),
            f"`eval_strategy: {cfg.training.eval_strategy}` needs evaluation data; add "
            "`data.eval` (a `path` or `name`) or set `eval_strategy: no`",
            "eval_without_data",
            "error",
        )
    elif cfg.training.eval_steps is not None and cfg.data.eval is None:
        yield Finding(
            ("training", "eval_steps"),
            "`eval_steps` is set but there is no `data.eval`; add evaluation data or "
            "remove `eval_steps`",
            "eval_without_data",
            "warning",
        )


def _seq_kd_unused(cfg: RunSections) -> Iterator[Finding]:
    if cfg.gkd.seq_kd and cfg.gkd.lmbda == 1.0:
        yield Finding(
            ("gkd", "seq_kd"),
            "`seq_kd` is never used with `lmbda: 1.0` (every batch is on-policy); "
            "lower `lmbda` or remove `seq_kd`",
            "seq_kd_unused",
            "warning",
        )


def _teacher_is_student(cfg: RunSections) -> Iterator[Finding]:
    if cfg.gkd.teacher_model_name_or_path == cfg.model.name_or_path:
        yield Finding(
            ("gkd", "teacher_model_name_or_path"),
            "the teacher is the student itself, so there is nothing to distil; name a "
            "larger or better model as the teacher",
            "teacher_is_student",
            "warning",
        )


def _warmup_twice(cfg: RunSections) -> Iterator[Finding]:
    if cfg.training.warmup_steps > 0 and cfg.training.warmup_ratio > 0:
        yield Finding(
            ("training", "warmup_ratio"),
            "both `warmup_steps` and `warmup_ratio` are set; `warmup_steps` wins, so "
            "remove one of them",
            "warmup_twice",
            "warning",
        )


def _best_needs_a_metric(cfg: RunSections) -> Iterator[Finding]:
    if cfg.training.save_strategy == "best" and "metric_for_best_model" not in cfg.training.extra_args:
        yield Finding(
            ("training", "save_strategy"),
            "`save_strategy: best` needs the metric that decides which checkpoint is best; "
            "add `metric_for_best_model: eval_loss` (for example) under `training.extra_args`",
            "save_best_without_metric",
            "error",
        )


def _top_k_loss(cfg: RunSections) -> Iterator[Finding]:
    implementation = cfg.gkd.loss_implementation
    if cfg.teacher.top_k is not None and implementation not in ("chunked", "fused"):
        yield Finding(
            ("teacher", "top_k"),
            f"`teacher.top_k` needs `gkd.loss_implementation: chunked` or `fused`, not `{implementation}` "
            "(TRL's and Liger's losses take full teacher logits); change one of them",
            "top_k_needs_chunked_or_fused",
            "error",
        )
    if cfg.teacher.top_k is None and not cfg.teacher.top_k_tail:
        yield Finding(
            ("teacher", "top_k_tail"),
            "`top_k_tail` only applies with `teacher.top_k`; set `top_k` or remove `top_k_tail`",
            "top_k_tail_unused",
            "warning",
        )


def _hub_settings_without_push(cfg: RunSections) -> Iterator[Finding]:
    training = cfg.training
    if training.push_to_hub:
        return
    # Compared with the defaults, not with the keys written: a resolved config
    # (`gkd show`, output_dir/gkd_config.yaml) spells every default out.
    set_keys = [
        key
        for key in ("hub_model_id", "hub_private_repo", "hub_strategy")
        if getattr(training, key) != TrainingSection.model_fields[key].default
    ]
    for key in set_keys:
        yield Finding(
            ("training", key),
            f"`{key}` has no effect without `push_to_hub: true`; set `training.push_to_hub: true` "
            f"to publish the model, or remove `{key}`",
            "hub_setting_without_push",
            "warning",
        )


def _push_target(cfg: RunSections) -> Iterator[Finding]:
    training = cfg.training
    if not training.push_to_hub or training.hub_model_id is not None:
        return
    # transformers names the repo after the output directory when no id is given.
    name = PurePath(training.output_dir).name
    if name in ("", ".", ".."):
        yield Finding(
            ("training", "push_to_hub"),
            "without `hub_model_id` the repo is named after the folder `output_dir` resolves to; "
            "set `training.hub_model_id: your-name/model-name` to choose it",
            "push_without_hub_model_id",
            "warning",
        )
    elif re.fullmatch(HUB_REPO_ID_SCHEMA_PATTERN, name):  # `match` would allow a final newline
        yield Finding(
            ("training", "push_to_hub"),
            f"without `hub_model_id` the model is pushed to `<your-namespace>/{name}` (the name of "
            "`output_dir`); set `training.hub_model_id` to choose the repo",
            "push_without_hub_model_id",
            "warning",
        )
    else:
        yield Finding(
            ("training", "push_to_hub"),
            f"without `hub_model_id` the repo would be named `{name}` after `output_dir`, which is "
            "not a Hub repo name (letters, digits, `.`, `_`, `-`); set `training.hub_model_id`",
            "output_dir_not_a_repo_name",
            "error",
        )


RULES: tuple[Callable[[RunSections], Iterator[Finding]], ...] = (
    _prompt_room,
    _eval_needs_data,
    _seq_kd_unused,
    _teacher_is_student,
    _warmup_twice,
    _best_needs_a_metric,
    _top_k_loss,
    _hub_settings_without_push,
    _push_target,
    *GENERATION_RULES,
    *TEACHER_RULES,
)


def check_rules(cfg: RunSections) -> list[Finding]:
    """Every finding of every cross-field rule, errors and warnings alike."""
    return [finding for rule in RULES for finding in rule(cfg)]
