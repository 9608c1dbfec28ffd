"""Keys Oumi and TRL configs name alike: the GKD knobs, TrainingArguments fields, LoRA.

Both tools pass these to TRL's `GKDConfig` / transformers' `TrainingArguments` under
TRL's names, which gkd's `gkd` and `training` sections use too. Each `take_*` pops the
keys it handles from a mutable copy of the source mapping, so what is left afterwards
is exactly what still needs a home.
"""

from __future__ import annotations

from typing import Any, get_args

from gkd_schema.convert.plan import TOOL_NAMES, ConversionPlan
from gkd_schema.models.gkd_params import TORCH_DTYPES
from gkd_schema.models.training_section import IntervalStrategy, SaveStrategy, SchedulerType

GKD_KNOBS = (
    "teacher_model_name_or_path", "temperature", "lmbda", "beta", "max_new_tokens", "disable_dropout", "seq_kd",
)  # fmt: skip

# TrainingArguments fields that are first-class keys of gkd's `training` section, with
# the choices gkd accepts where it accepts fewer than transformers.
TRAINING_KEYS = (
    "output_dir", "learning_rate", "per_device_train_batch_size", "per_device_eval_batch_size",
    "gradient_accumulation_steps", "num_train_epochs", "max_steps", "lr_scheduler_type", "warmup_ratio",
    "warmup_steps", "weight_decay", "max_grad_norm", "bf16", "fp16", "gradient_checkpointing", "max_length",
    "logging_steps", "eval_strategy", "eval_steps", "save_strategy", "save_steps", "save_total_limit", "seed",
    "report_to",
)  # fmt: skip
_CHOICES: dict[str, tuple[str, ...]] = {
    "lr_scheduler_type": get_args(SchedulerType),
    "eval_strategy": get_args(IntervalStrategy),
    "save_strategy": get_args(SaveStrategy),
}
_FLOATS = frozenset({"learning_rate", "num_train_epochs", "warmup_ratio", "weight_decay", "max_grad_norm"})
_COUNTS = frozenset({"logging_steps", "eval_steps", "save_steps"})


def source_key(prefix: str, key: str) -> str:
    """The dotted source key: `training.` + `lmbda`, or `lmbda` for a flat TRL config."""
    return f"{prefix}{key}"


def take_gkd_knobs(plan: ConversionPlan, mapping: dict[str, Any], prefix: str) -> None:
    """The six GKD knobs and the teacher, 1:1 into `gkd`; the teacher's load kwargs renamed."""
    for key in GKD_KNOBS:
        if key in mapping:
            value = mapping.pop(key)
            if key == "temperature" and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            plan.put(("gkd", key), value, source_key(prefix, key))
    if "teacher_model_init_kwargs" in mapping:
        source = source_key(prefix, "teacher_model_init_kwargs")
        take_teacher_kwargs(plan, mapping.pop("teacher_model_init_kwargs"), source)


def take_teacher_kwargs(plan: ConversionPlan, kwargs: Any, source: str) -> None:
    """`teacher_model_init_kwargs`, with the renames gkd asks for.

    transformers renamed `torch_dtype` to `dtype`; gkd keeps `trust_remote_code` as a typed
    switch of its own; a dtype gkd cannot load the teacher in (a quantised one) is listed.
    """
    if not isinstance(kwargs, dict):
        plan.skip(source, kwargs, "expected a mapping of `from_pretrained` keyword arguments")
        return
    kept = dict(kwargs)
    if "torch_dtype" in kept:
        kept["dtype"] = kept.pop("torch_dtype")
    if "trust_remote_code" in kept:
        plan.put(("gkd", "teacher_trust_remote_code"), kept.pop("trust_remote_code"), f"{source}.trust_remote_code")
    if "dtype" in kept and kept["dtype"] not in TORCH_DTYPES:
        plan.skip(
            f"{source}.dtype",
            kept.pop("dtype"),
            f"gkd loads the teacher in one of {', '.join(TORCH_DTYPES)}; a quantised teacher has no gkd key",
        )
    if kept:
        note = "`torch_dtype` renamed `dtype`, as transformers now names it" if "torch_dtype" in kwargs else None
        plan.put(("gkd", "teacher_model_init_kwargs"), kept, source, note)


def take_training_keys(plan: ConversionPlan, mapping: dict[str, Any], prefix: str) -> None:
    """TrainingArguments fields gkd has as `training` keys, where the value fits gkd's type."""
    for key in TRAINING_KEYS:
        if key not in mapping:
            continue
        value = mapping.pop(key)
        source = source_key(prefix, key)
        reason = _misfit(key, value)
        if reason is not None:
            plan.skip(source, value, reason)
            continue
        if key == "max_steps" and value == -1:
            continue  # transformers' "train num_train_epochs", which is gkd's unset max_steps
        if key == "report_to" and isinstance(value, str):
            value = [value]
        if key in _FLOATS and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        plan.put(("training", key), value, source)


def _misfit(key: str, value: Any) -> str | None:
    """Why `value` cannot be gkd's `training.<key>`, or None when it can."""
    if key in _CHOICES and value not in _CHOICES[key]:
        return f"gkd's `training.{key}` is one of {', '.join(_CHOICES[key])}"
    if key in _COUNTS and isinstance(value, float):
        return f"gkd's `training.{key}` counts steps; a fraction of the run has no gkd form"
    if key == "max_steps" and isinstance(value, int) and value < -1:
        return "expected a positive number of steps"
    return None


def take_lora(
    plan: ConversionPlan, mapping: dict[str, Any], prefix: str, defaults: dict[str, Any], *, enabled: bool
) -> None:
    """The `lora_*` keys into gkd's `peft` section when the source trains adapters.

    Args:
        plan: The plan to add to.
        mapping: The source keys (popped as handled).
        prefix: Their dotted prefix in the source.
        defaults: The source tool's LoRA defaults, written out where they differ from gkd's,
            so an unset key keeps the source tool's meaning.
        enabled: Whether the source trains adapters at all (`use_peft`).
    """
    keys = [k for k in mapping if k.startswith("lora_")]
    if not enabled:
        for key in keys:
            plan.skip(source_key(prefix, key), mapping.pop(key), "`use_peft` is off, so these LoRA settings are unused")
        return
    names = {"lora_r": "r", "lora_alpha": "lora_alpha", "lora_dropout": "lora_dropout", "lora_bias": "bias"}
    for key, gkd_key in names.items():
        value = mapping.pop(key, defaults.get(key))
        if value is None:
            continue
        if gkd_key == "lora_dropout" and isinstance(value, int):
            value = float(value)
        note = None if key in keys else f"{TOOL_NAMES[plan.tool]}'s default, written out (gkd's differs)"
        plan.put(("peft", gkd_key), value, source_key(prefix, key), note)
    _take_target_modules(plan, mapping, prefix)
    for key in [k for k in mapping if k.startswith("lora_")]:
        value = mapping.pop(key)
        if key == "lora_task_type" and value == "CAUSAL_LM":
            plan.skip(source_key(prefix, key), value, "gkd always trains a causal-LM adapter; nothing to set")
        else:
            plan.skip(source_key(prefix, key), value, "gkd's `peft` section has no such LoRA option")


def _take_target_modules(plan: ConversionPlan, mapping: dict[str, Any], prefix: str) -> None:
    source = source_key(prefix, "lora_target_modules")
    modules = mapping.pop("lora_target_modules", None)
    if modules is None:
        plan.skip(
            source,
            None,
            "unset: PEFT picks the modules by architecture, while gkd's default is `all-linear`; "
            "set `peft.target_modules` to that architecture's list (e.g. [q_proj, v_proj]) to match",
        )
        return
    if modules == "all-linear" or modules == ["all-linear"]:
        modules = "all-linear"
    elif isinstance(modules, str):
        modules = [modules]
    plan.put(("peft", "target_modules"), modules, source)
