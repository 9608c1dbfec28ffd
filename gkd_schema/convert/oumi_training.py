"""Oumi's `training` section (`TrainingParams`) -> gkd's `training` section.

How each key reaches TRL follows `TrainingParams.to_hf`: Oumi's own names are renamed to
gkd's (`enable_gradient_checkpointing`, `mixed_precision_dtype`, `enable_wandb`, ...),
TrainingArguments fields without a gkd key go to `training.extra_args`, and the rest is
listed with the reason.
"""

from __future__ import annotations

from typing import Any

from gkd_schema.convert.plan import ConversionPlan
from gkd_schema.convert.shared_keys import TRAINING_KEYS, take_training_keys

# Oumi key -> the GKDConfig (TrainingArguments) argument `to_hf` passes it as.
EXTRA_ARGS = {
    "optimizer": "optim",
    "adam_beta1": "adam_beta1",
    "adam_beta2": "adam_beta2",
    "adam_epsilon": "adam_epsilon",
    "lr_scheduler_kwargs": "lr_scheduler_kwargs",
    "gradient_checkpointing_kwargs": "gradient_checkpointing_kwargs",
    "data_seed": "data_seed",
    "full_determinism": "full_determinism",
    "run_name": "run_name",
    "dep_log_level": "log_level",
    "logging_strategy": "logging_strategy",
    "logging_first_step": "logging_first_step",
    "compile": "torch_compile",
    "empty_device_cache_steps": "torch_empty_cache_steps",
    "dataloader_num_workers": "dataloader_num_workers",
    "dataloader_persistent_workers": "dataloader_persistent_workers",
    "dataloader_prefetch_factor": "dataloader_prefetch_factor",
    "ddp_find_unused_parameters": "ddp_find_unused_parameters",
}
_NO_EQUIVALENT = {
    "log_level": "Oumi's own logger; gkd prints its own progress",
    "log_examples": "Oumi logs sample rows; `gkd validate --deep` shows the first rows instead",
    "log_model_summary": "Oumi prints a model summary; gkd's start banner names the models",
    "logging_dir": "transformers 5 has no logging_dir; set TENSORBOARD_LOGGING_DIR in the environment",
    "include_performance_metrics": "Oumi's own metrics",
    "include_alternative_mfu_metrics": "Oumi's own metrics",
    "telemetry": "Oumi's own telemetry",
    "profiler": "Oumi's own profiler",
    "use_deterministic": "Oumi switches; `training.extra_args.full_determinism: true` is the TRL one",
    "metrics_function": "gkd eval computes its own metrics (divergences, accuracy)",
    "reward_functions": "RL trainers only; GKD has no reward",
    "reward_function_kwargs": "RL trainers only; GKD has no reward",
    "grpo": "GRPO settings; unused by TRL_GKD",
    "gold": "GOLD settings; unused by TRL_GKD",
    "verl_config_overrides": "verl settings; unused by TRL_GKD",
    "sgd_momentum": "used by Oumi's own trainer only",
    "dataloader_main_process_only": "Oumi's accelerator setting; use an accelerate config with `gkd run`",
    "nccl_default_timeout_minutes": "set `training.extra_args.ddp_timeout` (seconds) if wanted",
    "label_ignore_index": "TRL's collator masks the prompt itself",
}
_TRACKERS = (("enable_wandb", "wandb", False), ("enable_tensorboard", "tensorboard", True), ("enable_mlflow", "mlflow",
             False))  # fmt: skip


def take_training(plan: ConversionPlan, training: dict[str, Any]) -> None:
    """Every key of Oumi's `training` section (but `trainer_type`, `gkd`, `use_peft`)."""
    _take_renamed(plan, training)
    _take_saving(plan, training)
    _take_precision(plan, training)
    _take_trackers(plan, training)
    strategy = training.get("eval_strategy", "no")
    if strategy == "steps" and "eval_steps" not in training:
        plan.put(("training", "eval_steps"), 500, None, "Oumi's default `eval_steps`, written out")
    elif strategy != "steps" and "eval_steps" in training:
        plan.skip("training.eval_steps", training.pop("eval_steps"), "unused without `eval_strategy: steps`")
    for key in ("warmup_ratio", "warmup_steps"):
        if key in training and training[key] is None:
            training.pop(key)  # Oumi's "unset", gkd's 0
    if "max_grad_norm" in training and training["max_grad_norm"] is None:
        training["max_grad_norm"] = 0.0  # Oumi passes None to TRL as 0.0: no clipping
    take_training_keys(plan, training, "training.")
    _take_trainer_kwargs(plan, training.pop("trainer_kwargs", None))
    for key, value in training.items():
        if key in EXTRA_ARGS:
            plan.put(("training", "extra_args", EXTRA_ARGS[key]), value, f"training.{key}")
        else:
            plan.skip(f"training.{key}", value, _NO_EQUIVALENT.get(key, "not a TrainingParams key gkd knows"))


def _take_renamed(plan: ConversionPlan, training: dict[str, Any]) -> None:
    if "enable_gradient_checkpointing" in training:
        value = training.pop("enable_gradient_checkpointing")
        plan.put(("training", "gradient_checkpointing"), value, "training.enable_gradient_checkpointing")
    if "resume_from_checkpoint" in training and training["resume_from_checkpoint"] is not None:
        path = str(training.pop("resume_from_checkpoint"))
        local = path if path.startswith(("/", "./", "../", "~")) else f"./{path}"
        plan.put(("training", "resume"), local, "training.resume_from_checkpoint")
        training.pop("try_resume_from_last_checkpoint", None)
    elif "try_resume_from_last_checkpoint" in training:
        value = training.pop("try_resume_from_last_checkpoint")
        training.pop("resume_from_checkpoint", None)
        plan.put(("training", "resume"), "auto" if value else "never", "training.try_resume_from_last_checkpoint")
    if "save_final_model" in training:
        value = training.pop("save_final_model")
        why = "gkd always saves the final model in `output_dir`" + ("" if value else "; there is no switch to skip it")
        plan.skip("training.save_final_model", value, why)


def _take_saving(plan: ConversionPlan, training: dict[str, Any]) -> None:
    """Oumi derives TRL's `save_strategy`: steps when `save_steps` > 0, else epoch with `save_epoch`."""
    save_steps = training.pop("save_steps", 500)
    if not isinstance(save_steps, int) or isinstance(save_steps, bool) or save_steps < 0:
        plan.skip("training.save_steps", save_steps, "expected a whole number of steps (0: by epoch or never)")
        return  # a `save_epoch` is then listed with the other keys left over
    save_epoch = training.pop("save_epoch", False)
    if save_steps > 0:
        plan.put(("training", "save_steps"), save_steps, "training.save_steps")
        if save_epoch:
            plan.skip("training.save_epoch", save_epoch, "Oumi saves by steps when `save_steps` > 0; so does this")
        return
    strategy = "epoch" if save_epoch else "no"
    plan.put(("training", "save_strategy"), strategy, "training.save_epoch" if save_epoch else "training.save_steps")


def _take_precision(plan: ConversionPlan, training: dict[str, Any]) -> None:
    """`mixed_precision_dtype`: Oumi's default `none` turns bf16 and fp16 off explicitly."""
    dtype = str(training.pop("mixed_precision_dtype", "none")).lower()
    note = None if dtype != "none" else "Oumi's mixed_precision_dtype `none` (its default): no mixed precision"
    plan.put(("training", "bf16"), dtype == "bf16", "training.mixed_precision_dtype", note)
    if dtype == "fp16":
        plan.put(("training", "fp16"), True, "training.mixed_precision_dtype")


def _take_trackers(plan: ConversionPlan, training: dict[str, Any]) -> None:
    """Oumi's `enable_*` switches -> `report_to`, as `_get_hf_report_to` builds it."""
    present = [key for key, _, _ in _TRACKERS if key in training]
    targets = [name for key, name, default in _TRACKERS if training.pop(key, default) is True]
    source = "training." + "/".join(present) if present else None
    note = None
    if "tensorboard" in targets:
        note = "Oumi logs to TensorBoard unless `enable_tensorboard: false` (needs gkd's `tensorboard` extra)"
    plan.put(("training", "report_to"), targets or ["none"], source, note)


def _take_trainer_kwargs(plan: ConversionPlan, kwargs: Any) -> None:
    """Oumi's `trainer_kwargs` go to TRL as written: gkd's `extra_args` does the same."""
    if kwargs is None:
        return
    if not isinstance(kwargs, dict):
        plan.skip("training.trainer_kwargs", kwargs, "expected a mapping of GKDConfig arguments")
        return
    for key, value in kwargs.items():
        loc = ("training", key) if key in TRAINING_KEYS else ("training", "extra_args", key)
        plan.put(loc, value, f"training.trainer_kwargs.{key}")
