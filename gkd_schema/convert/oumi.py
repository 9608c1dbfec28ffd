"""Oumi training configs (`oumi train -c`) -> a conversion plan.

Oumi's format is read from its published sources: `TrainingConfig` (`data`, `model`,
`training`, `peft`, `fsdp`, `deepspeed`), `ModelParams`, `DataParams`, `PeftParams`,
`TrainingParams.to_hf` (how each key reaches TRL) and `GkdParams`, as of Oumi 0.5+.
"""

from __future__ import annotations

from typing import Any

from gkd_schema.config.yaml_loader import PositionMap
from gkd_schema.convert.oumi_data import take_data
from gkd_schema.convert.oumi_training import take_training
from gkd_schema.convert.plan import ConversionPlan
from gkd_schema.convert.reading import error_at
from gkd_schema.convert.shared_keys import take_gkd_knobs, take_lora

_SECTIONS = ("data", "model", "training", "peft", "fsdp", "deepspeed")
# PeftParams' defaults, which differ from gkd's (16, 32, 0.05): written out when unset.
_LORA_DEFAULTS = {"lora_r": 8, "lora_alpha": 8, "lora_dropout": 0.0}
_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32", "f32": "float32",
           "float": "float32"}  # fmt: skip
_MODEL_KEYS = {
    "model_name": "name_or_path",
    "tokenizer_name": "tokenizer_name_or_path",
    "model_revision": "revision",
    "trust_remote_code": "trust_remote_code",
    "attn_implementation": "attn_implementation",
}
_MODEL_NO_EQUIVALENT = {
    "device_map": "gkd and accelerate place the student on the devices; there is no device map",
    "model_kwargs": "gkd passes no free-form `from_pretrained` arguments for the student",
    "tokenizer_kwargs": "gkd loads the tokenizer as the checkpoint ships it",
    "processor_kwargs": "gkd distils text models; there is no processor",
    "tokenizer_pad_token": "gkd needs the tokenizer to define its pad token (preflight checks it)",
    "chat_template": "gkd uses the tokenizer's own chat template; add it to the tokenizer files",
    "chat_template_kwargs": "gkd uses the tokenizer's own chat template as it is",
    "adapter_model": "gkd starts from a full checkpoint; merge the adapter into the model first",
    "freeze_layers": "gkd trains all weights, or LoRA adapters (`peft`)",
    "shard_for_eval": "evaluation-only setting of Oumi",
    "tool_call_parser": "inference-only setting of Oumi",
    "compile": "set `training.extra_args.torch_compile: true` if wanted",
}


def plan_oumi(data: dict[str, Any], positions: PositionMap) -> ConversionPlan:
    """The gkd keys an Oumi `TRL_GKD` training config converts to.

    Raises:
        ConvertError: the file is not an Oumi GKD training config, or lacks the student
            or the teacher.
    """
    training = _check_format(data, positions)
    plan = ConversionPlan("oumi")
    _take_model(plan, dict(data.get("model") or {}))
    gkd = training.pop("gkd", None)
    if not isinstance(gkd, dict) or not gkd.get("teacher_model_name_or_path"):
        raise error_at(
            positions,
            ("training", "gkd"),
            "`training.gkd.teacher_model_name_or_path` is missing; Oumi's TRL_GKD needs a teacher, and so does "
            "gkd: add it and convert again",
        )
    take_gkd_knobs(plan, gkd, "training.gkd.")
    for key, value in gkd.items():
        plan.skip(f"training.gkd.{key}", value, "not a GKD parameter Oumi's GkdParams or gkd knows")
    take_data(plan, data.get("data"), positions)
    use_peft = training.pop("use_peft", False)
    take_training(plan, training)
    if "peft" in data and not isinstance(data["peft"], dict):
        plan.skip("peft", data["peft"], "expected a mapping of PeftParams keys")
    peft = dict(data["peft"]) if isinstance(data.get("peft"), dict) else {}
    take_lora(plan, peft, "peft.", _LORA_DEFAULTS, enabled=use_peft is True)
    for key, value in peft.items():
        plan.skip(f"peft.{key}", value, "gkd's `peft` section has no such option (LoRA only, no quantisation)")
    for section in ("fsdp", "deepspeed"):
        if section in data:
            plan.skip(section, data[section], _distributed_reason(section, data[section]))
    for key, value in data.items():
        if key not in _SECTIONS:
            plan.skip(key, value, "not a section of Oumi's TrainingConfig")
    return plan


def _check_format(data: dict[str, Any], positions: PositionMap) -> dict[str, Any]:
    """The `training` mapping, once the file is known to be an Oumi TRL_GKD config."""
    if "model_name_or_path" in data:
        raise error_at(positions, ("model_name_or_path",), "this looks like a TRL script config (flat "
                       "`model_name_or_path`), not an Oumi one; use `--from trl`")  # fmt: skip
    model = data.get("model")
    if isinstance(model, dict) and "name_or_path" in model:
        raise error_at(positions, ("model", "name_or_path"), "this is already a gkd config (`model.name_or_path`); "
                       "check it with `gkd validate`")  # fmt: skip
    training = data.get("training")
    if not isinstance(training, dict) or not isinstance(model, dict):
        raise error_at(positions, (), "not an Oumi training config: it needs `model` and `training` sections "
                       "(`model.model_name`, `training.trainer_type: TRL_GKD`)")  # fmt: skip
    trainer = training.get("trainer_type")
    if not isinstance(trainer, str) or trainer.upper() != "TRL_GKD":
        where = ("training", "trainer_type") if trainer is not None else ("training",)
        shown = "missing (Oumi's default is HF)" if trainer is None else f"`{trainer}`"
        raise error_at(positions, where, f"`training.trainer_type` is {shown}; gkd converts GKD runs only "
                       "(`trainer_type: TRL_GKD`)")  # fmt: skip
    if not model.get("model_name"):
        raise error_at(positions, ("model",), "`model.model_name` (the student) is missing; add it and convert again")
    rest = dict(training)
    rest.pop("trainer_type")
    return rest


def _take_model(plan: ConversionPlan, model: dict[str, Any]) -> None:
    for key, gkd_key in _MODEL_KEYS.items():
        if key in model:
            plan.put(("model", gkd_key), model.pop(key), f"model.{key}")
    if "torch_dtype_str" in model:
        dtype = model.pop("torch_dtype_str")
        plan.put(("model", "dtype"), _DTYPES.get(str(dtype).lower(), dtype), "model.torch_dtype_str")
    if "model_max_length" in model:
        # Oumi hands `model_max_length` to TRL's `max_length` for TRL_GKD.
        plan.put(("training", "max_length"), model.pop("model_max_length"), "model.model_max_length")
    if "enable_liger_kernel" in model:
        liger = model.pop("enable_liger_kernel")
        if liger is True:
            plan.put(("gkd", "loss_implementation"), "liger", "model.enable_liger_kernel")
        else:
            plan.skip("model.enable_liger_kernel", liger, "off; gkd's own default loss is `chunked`")
    if "load_pretrained_weights" in model:
        value = model.pop("load_pretrained_weights")
        why = "gkd always loads the pretrained weights" if value else "gkd distils a pretrained student; no random init"
        plan.skip("model.load_pretrained_weights", value, why)
    for key, value in model.items():
        plan.skip(f"model.{key}", value, _MODEL_NO_EQUIVALENT.get(key, "not a ModelParams key gkd knows"))


def _distributed_reason(section: str, value: Any) -> str:
    enabled = isinstance(value, dict) and value.get(f"enable_{section}") is True
    if not enabled:
        return f"{section} is off here; nothing to carry over"
    return f"gkd runs {section.upper()} through an accelerate config: `gkd run --accelerate-config FILE`"
