"""TRL GKD script configs (`python trl/experimental/gkd/gkd.py --config FILE`) -> a plan.

The file is flat: the fields of `ScriptArguments`, `GKDConfig` (TrainingArguments and
SFTConfig included) and `ModelConfig`, plus TrlParser's `env`. How they are used follows
the script: the teacher is loaded with the student's `dtype`, `attn_implementation` and
`trust_remote_code` (the script overwrites `teacher_model_init_kwargs`), and the eval
split is read only when `eval_strategy` is not `no`.
"""

from __future__ import annotations

from typing import Any

from gkd_schema.config.yaml_loader import PositionMap
from gkd_schema.convert.plan import ConversionPlan
from gkd_schema.convert.reading import error_at
from gkd_schema.convert.shared_keys import take_gkd_knobs, take_lora, take_training_keys
from gkd_schema.models.data_section import DATA_FILE_SUFFIXES

# GKDConfig arguments gkd sets from elsewhere (see runner/preflight/trainer_args.py).
_OWNED = {
    "model_init_kwargs": "TRL's gkd.py replaces it with the ModelConfig settings, converted to `model`",
    "teacher_model_init_kwargs": "TRL's gkd.py replaces it with the student's dtype, attn_implementation and "
    "trust_remote_code, converted to `gkd.teacher_model_init_kwargs`",
    "overwrite_output_dir": "pass `--overwrite` to `gkd run` instead",
}
_NO_EQUIVALENT = {
    "env": "environment variables TrlParser sets; export them before `gkd run`",
    "dataset_streaming": "gkd does not stream datasets",
    "ignore_bias_buffers": "a DDP workaround of TRL's scripts; gkd needs none",
    "use_rslora": "gkd's `peft` section has plain LoRA only",
    "use_dora": "gkd's `peft` section has plain LoRA only",
    "load_in_8bit": "gkd does not quantise the student",
    "load_in_4bit": "gkd does not quantise the student",
    "bnb_4bit_quant_type": "gkd does not quantise the student",
    "use_bnb_nested_quant": "gkd does not quantise the student",
    "bnb_4bit_quant_storage": "gkd does not quantise the student",
    "datasets": "a dataset mixture of TRL's SFT script; gkd.py reads `dataset_name`",
}
_SECTIONS = ("model", "training", "gkd", "data")


def plan_trl(data: dict[str, Any], positions: PositionMap) -> ConversionPlan:
    """The gkd keys a TRL GKD script config converts to.

    Raises:
        ConvertError: the file is not a flat TRL script config, or lacks the student,
            the teacher or the dataset.
    """
    _check_format(data, positions)
    plan = ConversionPlan("trl")
    rest = dict(data)
    for key in ("model_init_kwargs", "teacher_model_init_kwargs"):
        if key in rest:  # before the knobs, which would take the teacher's as written
            plan.skip(key, rest.pop(key), _OWNED[key])
    _take_models(plan, rest)
    take_gkd_knobs(plan, rest, "")
    _take_dataset(plan, rest)
    use_peft = rest.pop("use_peft", False)
    take_lora(plan, rest, "", {}, enabled=use_peft is True)
    if "gradient_checkpointing" not in rest:
        plan.put(("training", "gradient_checkpointing"), True, None,
                 "TRL's GKDConfig default, written out (gkd's is false)")  # fmt: skip
    if "resume_from_checkpoint" in rest:
        path = str(rest.pop("resume_from_checkpoint"))
        plan.put(("training", "resume"), path if path.startswith(("/", "./", "../", "~")) else f"./{path}",
                 "resume_from_checkpoint")  # fmt: skip
    take_training_keys(plan, rest, "")
    for key, value in rest.items():
        if key in _OWNED or key in _NO_EQUIVALENT:
            plan.skip(key, value, _OWNED.get(key) or _NO_EQUIVALENT[key])
        else:
            # Any other GKDConfig argument passes through as written; `gkd run` (and
            # `gkd validate --deep`) check the name against the installed TRL.
            plan.put(("training", "extra_args", key), value)
    return plan


def _check_format(data: dict[str, Any], positions: PositionMap) -> None:
    sections = [key for key in _SECTIONS if isinstance(data.get(key), dict)]
    if sections:
        training = data.get("training")
        tool = "an Oumi config; use `--from oumi`" if isinstance(training, dict) and "trainer_type" in training else (
            "a gkd config already; check it with `gkd validate`" if "gkd" in sections else "not a TRL script config")
        raise error_at(positions, (sections[0],), f"`{sections[0]}` is a section, so this is {tool} (TRL script "
                       "configs are flat: `model_name_or_path`, `teacher_model_name_or_path`, ...)")  # fmt: skip
    if not data.get("model_name_or_path"):
        raise error_at(positions, (), "`model_name_or_path` (the student) is missing; a TRL GKD script config "
                       "names it at the top level")  # fmt: skip
    if not data.get("teacher_model_name_or_path"):
        raise error_at(positions, (), "`teacher_model_name_or_path` is missing; TRL's GKD trainer needs a teacher, "
                       "and so does gkd: add it and convert again")  # fmt: skip
    if not data.get("dataset_name"):
        raise error_at(positions, (), "`dataset_name` is missing; TRL's gkd.py reads its data from it: add it and "
                       "convert again")  # fmt: skip


def _take_models(plan: ConversionPlan, rest: dict[str, Any]) -> None:
    """ModelConfig -> `model`, and the teacher's load settings the script derives from it."""
    plan.put(("model", "name_or_path"), rest.pop("model_name_or_path"), "model_name_or_path")
    if "model_revision" in rest:
        plan.put(("model", "revision"), rest.pop("model_revision"), "model_revision")
    # ModelConfig's `dtype` defaults to float32 (older TRL: `torch_dtype`).
    source = "dtype" if "dtype" in rest else "torch_dtype" if "torch_dtype" in rest else None
    dtype = rest.pop(source) if source else "float32"
    note = None if source else "ModelConfig's default dtype, written out (gkd's is auto)"
    plan.put(("model", "dtype"), dtype, source, note)
    teacher: dict[str, Any] = {"dtype": dtype}
    if "attn_implementation" in rest:
        teacher["attn_implementation"] = rest["attn_implementation"]
        plan.put(("model", "attn_implementation"), rest.pop("attn_implementation"))
    plan.put(("gkd", "teacher_model_init_kwargs"), teacher, "dtype, attn_implementation",
             "TRL's gkd.py loads the teacher with the student's dtype and attention")  # fmt: skip
    if "trust_remote_code" in rest:
        trust = rest.pop("trust_remote_code")
        plan.put(("model", "trust_remote_code"), trust)
        plan.put(("gkd", "teacher_trust_remote_code"), trust, "trust_remote_code")


def _take_dataset(plan: ConversionPlan, rest: dict[str, Any]) -> None:
    """ScriptArguments -> `data.train`, and `data.eval` when the script would evaluate."""
    given = {key for key in ("dataset_train_split", "dataset_test_split") if key in rest}
    name = str(rest.pop("dataset_name"))
    config = rest.pop("dataset_config", None)
    train_split = rest.pop("dataset_train_split", "train")
    test_split = rest.pop("dataset_test_split", "test")
    for split, split_name, key in (("train", train_split, "dataset_train_split"),
                                   ("eval", test_split, "dataset_test_split")):  # fmt: skip
        if split == "eval" and rest.get("eval_strategy", "no") == "no":
            if key in given:
                plan.skip(key, split_name, "unused: TRL's gkd.py evaluates only when `eval_strategy` is not `no`")
            continue
        if name.endswith(DATA_FILE_SUFFIXES):
            plan.put(("data", split, "path"), name, "dataset_name")
            if key in given:
                plan.skip(key, split_name, "applies to Hub datasets; a local file is one split")
            continue
        plan.put(("data", split, "name"), name, "dataset_name")
        if config is not None:
            plan.put(("data", split, "config"), config, "dataset_config")
        plan.put(("data", split, "split"), split_name, key)
