"""Build the exact keyword arguments for TRL's `GKDConfig` from a run config.

The `gkd` section contributes `GkdParams.to_hf_trainer_kwargs()`, the `training`
section its TRL-named fields, and `training.extra_args` anything else GKDConfig
accepts, checked by name against GKDConfig's fields when the run starts.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Collection, Mapping
from typing import Any

from gkd_schema.config.diagnostics import Diagnostic
from gkd_schema.models import RunConfig
from gkd_schema.runner.preflight.extra_arg_types import check_extra_arg_types
from gkd_schema.runner.preflight.precision import Precision

# Training-section fields that are gkd's own, not GKDConfig keyword arguments.
_NOT_TRL = frozenset({"resume", "extra_args", "bf16", "fp16", "cpu_threads"})

# GKDConfig arguments gkd sets itself from somewhere other than a same-named key.
_OWNED_ELSEWHERE = {
    "teacher_model_name_or_path": "gkd.teacher_model_name_or_path",
    "trust_remote_code": "model.trust_remote_code / gkd.teacher_trust_remote_code",
    "model_init_kwargs": "the `model` section",
    "resume_from_checkpoint": "training.resume",
    "overwrite_output_dir": "the --overwrite option of gkd run",
    # A token written in the config would be copied into output_dir/gkd_config.yaml,
    # which `push_to_hub` uploads with the model.
    "hub_token": "`HF_TOKEN` or `hf auth login` (a token in the config would be uploaded with the model)",
}


class TrainerArgsError(Exception):
    """The config cannot be turned into GKDConfig arguments; carries diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics


def _section_kwargs(config: RunConfig) -> dict[str, Any]:
    """GKDConfig keyword arguments from the `gkd` and `training` sections."""
    kwargs = config.gkd.to_hf_trainer_kwargs()
    training = config.training.model_dump(mode="python")
    for key, value in training.items():
        if key in _NOT_TRL:
            continue
        if key == "max_steps" and value is None:
            value = -1  # transformers' "use num_train_epochs"
        kwargs[key] = value
    return kwargs


def _adapt_to_installed(kwargs: dict[str, Any], accepted: Collection[str]) -> None:
    """Rewrite arguments the installed transformers renamed, in place.

    transformers 5 folded `warmup_ratio` into `warmup_steps` (a float below 1 is a
    ratio of the total steps); `warmup_steps` above 0 wins, as in the schema. It also
    renamed `gradient_checkpointing` to `activation_checkpointing` (the old name still
    mirrors the new one, which is what TRL reads) and warns about the old name.
    """
    if "activation_checkpointing" in accepted and "gradient_checkpointing" in kwargs:
        kwargs["activation_checkpointing"] = kwargs.pop("gradient_checkpointing")
    if "warmup_ratio" in kwargs and "warmup_ratio" not in accepted:
        ratio = kwargs.pop("warmup_ratio")
        if not kwargs.get("warmup_steps") and ratio > 0:
            # 1.0 would read as "one step"; just below it means "all steps".
            kwargs["warmup_steps"] = min(float(ratio), 1.0 - 1e-9)


def check_extra_args(
    config: RunConfig, accepted: Collection[str]
) -> list[Diagnostic]:
    """Check `training.extra_args` keys against the names GKDConfig accepts.

    Args:
        config: The validated run config.
        accepted: Every GKDConfig field name.

    Returns:
        One error per bad key: unknown (with a did-you-mean), or set elsewhere in
        the config (naming that key).
    """
    section_keys = set(_section_kwargs(config)) | {"bf16", "fp16"}
    errors = []
    for key in config.training.extra_args:
        loc = ("training", "extra_args", key)
        if key in section_keys:
            where = "gkd" if key in config.gkd.to_hf_trainer_kwargs() else "training"
            message = f"`{key}` has its own key; set `{where}.{key}` instead of passing it here"
            errors.append(Diagnostic(loc, message, "extra_arg_shadows_key"))
        elif key in _OWNED_ELSEWHERE:
            message = f"`{key}` is set by gkd from {_OWNED_ELSEWHERE[key]}; remove it from extra_args"
            errors.append(Diagnostic(loc, message, "extra_arg_owned"))
        elif key not in accepted:
            close = difflib.get_close_matches(key, sorted(accepted), n=1, cutoff=0.75)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            message = f"`{key}` is not an argument of TRL's GKDConfig{hint}"
            errors.append(Diagnostic(loc, message, "unknown_extra_arg"))
    return errors


def teacher_init_kwargs(config: RunConfig, precision: Precision) -> dict[str, Any]:
    """The `from_pretrained` arguments of the teacher: the config's, with the resolved dtype."""
    kwargs = dict(config.gkd.to_hf_trainer_kwargs()["teacher_model_init_kwargs"])
    kwargs["dtype"] = precision.teacher_dtype
    # TRL would otherwise give the teacher the student's trust_remote_code; the
    # teacher has its own, explicit switch.
    kwargs["trust_remote_code"] = config.gkd.teacher_trust_remote_code
    return kwargs


def build_trainer_kwargs(
    config: RunConfig,
    precision: Precision,
    accepted: Collection[str],
    declared: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The exact keyword arguments gkd passes to `GKDConfig`.

    Args:
        config: The validated run config.
        precision: The resolved precision (fills `bf16`/`fp16` and the teacher dtype).
        accepted: Every GKDConfig field name, for checking `extra_args`.
        declared: GKDConfig's field annotations, for checking `extra_args` values.

    Returns:
        A fresh dict; TRL mutates its arguments, so never reuse one.

    Raises:
        TrainerArgsError: `training.extra_args` names something GKDConfig lacks or
            something set elsewhere in the config, or has a value of the wrong type.
    """
    errors = check_extra_args(config, accepted)
    errors += check_extra_arg_types(config.training.extra_args, declared or {})
    if errors:
        raise TrainerArgsError(errors)
    kwargs = _section_kwargs(config)
    _adapt_to_installed(kwargs, accepted)
    kwargs["bf16"] = precision.bf16
    kwargs["fp16"] = precision.fp16
    # TRL refuses init kwargs for a teacher it does not load itself: a served teacher (never
    # loaded here) and a cross-tokenizer one (gkd loads it) get a stand-in (`train/teacher_setup.py`).
    stand_in = config.teacher.backend == "server" or config.teacher.cross_tokenizer is not None
    kwargs["teacher_model_init_kwargs"] = None if stand_in else teacher_init_kwargs(config, precision)
    if precision.device_kind == "cpu":
        # Pinned memory needs an accelerator; on a CPU it only earns a warning.
        kwargs["dataloader_pin_memory"] = False
        # Tells transformers the CPU is intended: bf16 set explicitly then runs under
        # CPU autocast instead of failing, and several processes use gloo.
        kwargs["use_cpu"] = True
    kwargs.update(config.training.extra_args)
    return kwargs


def make_gkd_config(kwargs: dict[str, Any], extra_keys: Collection[str] = ()) -> Any:
    """Construct TRL's `GKDConfig` (loads no weights).

    Args:
        kwargs: From `build_trainer_kwargs`; copied, since TRL mutates nested dicts.
        extra_keys: Keys that came from `training.extra_args`, to place errors.

    Raises:
        TrainerArgsError: TRL rejected a value (typically from `extra_args`).
    """
    from gkd_schema.runner.preflight.trl_compat import gkd_classes

    config_cls, _ = gkd_classes()
    try:
        return config_cls(**copy.deepcopy(kwargs))
    except (ValueError, TypeError) as exc:
        loc: tuple[str | int, ...] = ("training",)
        for key in kwargs:
            if f"{key}" in str(exc):
                loc = ("training", "extra_args", key) if key in extra_keys else ("training", key)
                break
        raise TrainerArgsError(
            [Diagnostic(loc, f"TRL's GKDConfig rejected the arguments: {exc}", "trl_config_error")]
        ) from exc
