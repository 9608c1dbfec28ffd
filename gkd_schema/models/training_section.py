"""The `training` section: the TrainingArguments people set, under TRL's names."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from pydantic_core import PydanticCustomError

from gkd_schema.models.base import Problem, SectionRule, StrictModel
from gkd_schema.models.identifiers import HubRepoId

SchedulerType = Literal[
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "reduce_lr_on_plateau",
    "cosine_with_min_lr",
    "warmup_stable_decay",
]
IntervalStrategy = Literal["no", "steps", "epoch"]
SaveStrategy = Literal["no", "steps", "epoch", "best"]
HubStrategy = Literal["end", "every_save", "checkpoint", "all_checkpoints"]
ReportTarget = Literal[
    "none", "all", "tensorboard", "wandb", "mlflow", "comet_ml", "clearml", "trackio",
    "dvclive", "neptune", "swanlab", "codecarbon",
]
CheckpointPath = Annotated[
    str,
    Field(
        pattern=r"^(/|\./|\.\./|~)",
        min_length=2,
        json_schema_extra={
            "patternErrorMessage": "Use `never`, `auto`, or a checkpoint path starting with "
            "`/`, `./`, `../` or `~`."
        },
    ),
]


class TrainingSection(StrictModel):
    """Optimisation, precision, cadence and output of the run."""

    # The schema form of `_precision_and_cadence`, so editors flag what it rejects.
    model_config = StrictModel.model_config | {
        "json_schema_extra": {
            "allOf": [
                {
                    "if": {"required": ["bf16"], "properties": {"bf16": {"const": True}}},
                    "then": {
                        "properties": {
                            "fp16": {
                                "enum": [False, None],
                                "errorMessage": "`bf16` and `fp16` are both true; keep one "
                                "(bf16 on Ampere or newer GPUs)",
                            }
                        }
                    },
                },
                {
                    "if": {
                        "required": ["eval_strategy"],
                        "properties": {"eval_strategy": {"const": "steps"}},
                    },
                    "then": {
                        "required": ["eval_steps"],
                        "properties": {
                            "eval_steps": {
                                "type": "integer",
                                "errorMessage": "`eval_strategy: steps` needs `eval_steps`; add "
                                "`eval_steps: 100` (for example)",
                            }
                        },
                        "errorMessage": "`eval_strategy: steps` needs `eval_steps`; add "
                        "`eval_steps: 100` (for example)",
                    },
                },
                {
                    "if": {
                        "required": ["save_strategy"],
                        "properties": {"save_strategy": {"const": "best"}},
                    },
                    "then": {
                        "required": ["eval_strategy"],
                        "properties": {
                            "eval_strategy": {
                                "enum": ["steps", "epoch"],
                                "errorMessage": "`save_strategy: best` needs evaluation; set "
                                "`eval_strategy` to steps or epoch",
                            }
                        },
                        "errorMessage": "`save_strategy: best` needs evaluation; set "
                        "`eval_strategy` to steps or epoch",
                    },
                },
            ]
        }
    }

    output_dir: str = Field(
        min_length=1,
        examples=["runs/qwen-gkd"],
        description=(
            "Where checkpoints, the final model, the resolved config and metrics are "
            "written. gkd never writes into a non-empty directory unless resuming or "
            "given `--overwrite`."
        ),
    )
    learning_rate: float = Field(default=5e-5, gt=0.0, description="Peak learning rate of AdamW.")
    per_device_train_batch_size: int = Field(
        default=8, ge=1, description="Training conversations per device per step."
    )
    per_device_eval_batch_size: int = Field(
        default=8, ge=1, description="Evaluation conversations per device per step."
    )
    gradient_accumulation_steps: int = Field(
        default=1, ge=1, description="Micro-batches accumulated into one optimizer step."
    )
    num_train_epochs: float = Field(
        default=3.0, gt=0.0, description="Passes over the training data (ignored when `max_steps` is set)."
    )
    max_steps: int | None = Field(
        default=None, ge=1, description="Total optimizer steps; overrides `num_train_epochs` when set."
    )
    lr_scheduler_type: SchedulerType = Field(
        default="linear", description="Learning-rate schedule after warmup."
    )
    warmup_ratio: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Fraction of the steps spent warming up the learning rate."
    )
    warmup_steps: int = Field(
        default=0, ge=0, description="Warmup steps; takes precedence over `warmup_ratio` when above 0."
    )
    weight_decay: float = Field(default=0.0, ge=0.0, description="AdamW weight decay.")
    max_grad_norm: float = Field(default=1.0, ge=0.0, description="Gradient clipping norm (0 turns clipping off).")
    bf16: bool | None = Field(
        default=None,
        description=(
            "Train in bfloat16 mixed precision. Unset: chosen from the device (on when the "
            "accelerator supports bf16, off on CPU)."
        ),
    )
    fp16: bool | None = Field(
        default=None,
        description="Train in float16 mixed precision (older GPUs). Unset: off.",
    )
    gradient_checkpointing: bool = Field(
        default=False,
        description=(
            "Recompute activations in the backward pass to save memory. gkd still "
            "generates on-policy completions with the KV cache."
        ),
    )
    cpu_threads: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Threads each process computes with on a CPU. Unset: the cores this process may "
            "use (affinity, cgroup quota) less those other work keeps busy, split among the "
            "run's processes; `OMP_NUM_THREADS` also overrides."
        ),
    )
    max_length: int = Field(
        default=1024, ge=1, description="Maximum tokens of prompt plus completion per conversation."
    )
    logging_steps: int = Field(default=10, ge=1, description="Log metrics every this many steps.")
    eval_strategy: IntervalStrategy = Field(
        default="no", description="When to evaluate: no, steps (every `eval_steps`) or epoch. Needs `data.eval`."
    )
    eval_steps: int | None = Field(
        default=None, ge=1, description="Evaluate every this many steps (with `eval_strategy: steps`)."
    )
    save_strategy: SaveStrategy = Field(
        default="steps", description="When to save a checkpoint: no, steps, epoch or best."
    )
    save_steps: int = Field(default=500, ge=1, description="Save a checkpoint every this many steps.")
    save_total_limit: int | None = Field(
        default=None, ge=1, description="Keep at most this many checkpoints (oldest deleted first)."
    )
    seed: int = Field(
        default=42, ge=0, description="Random seed for initialisation, data order and on-policy decisions."
    )
    report_to: list[ReportTarget] = Field(
        default_factory=lambda: list[ReportTarget](["none"]),
        description="Experiment trackers to log to; `none` logs only to the console and output_dir.",
    )
    resume: Literal["never", "auto"] | CheckpointPath = Field(
        default="never",
        description=(
            "`never` starts fresh; `auto` resumes from the newest checkpoint in `output_dir`; "
            "a path (starting with `/`, `./`, `../` or `~`) resumes from that checkpoint."
        ),
    )
    push_to_hub: bool = Field(
        default=False,
        description=(
            "Publish the trained student to the Hugging Face Hub: the repo is created when the "
            "trainer is built, `hub_strategy` says what is pushed during training, and the end "
            "of the run pushes the final model with its model card (student, teacher, data, "
            "distillation settings, evaluation table). Needs a Hub token (`HF_TOKEN` or `hf auth "
            "login`; `gkd validate --deep` checks) and network."
        ),
    )
    hub_model_id: HubRepoId | None = Field(
        default=None,
        description=(
            "The Hub repo to push to: `namespace/name` (letters, digits, `.`, `_`, `-`), or `name` "
            "for your own namespace. Unset: your namespace and the name of `output_dir`."
        ),
    )
    hub_private_repo: bool | None = Field(
        default=None,
        description=(
            "Create the repo private. Unset: the namespace's default (public for users). No "
            "effect on a repo that already exists."
        ),
    )
    hub_strategy: HubStrategy = Field(
        default="every_save",
        description=(
            "What is pushed while training (with `push_to_hub`): `end` only the final model; "
            "`every_save` the model at each save; `checkpoint` also the newest checkpoint, as "
            "`last-checkpoint/`, to resume from; `all_checkpoints` every checkpoint."
        ),
    )
    extra_args: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Further keyword arguments for TRL's GKDConfig, passed through as written; "
            "their names are checked against GKDConfig when the run starts."
        ),
    )

    # Independent rules: each one that fails is reported, not only the first.
    section_rules = (
        SectionRule(("bf16", "fp16"), lambda s: _problem(
            s.bf16 and s.fp16, "precision_conflict", "fp16",
            "`bf16` and `fp16` are both true; keep one (bf16 on Ampere or newer GPUs)",
        )),
        SectionRule(("eval_strategy", "eval_steps"), lambda s: _problem(
            s.eval_strategy == "steps" and s.eval_steps is None, "missing_eval_steps", "eval_steps",
            "`eval_strategy: steps` needs `eval_steps`; add `eval_steps: 100` (for example)",
        )),
        SectionRule(("save_strategy", "eval_strategy"), lambda s: _problem(
            s.save_strategy == "best" and s.eval_strategy == "no", "save_best_without_eval", "save_strategy",
            "`save_strategy: best` needs evaluation; set `eval_strategy` to steps or epoch",
        )),
    )


def _problem(failed: bool, kind: str, key: str, message: str) -> list[Problem]:
    """The section-level problem `kind` at `key` when `failed`."""
    return [((), PydanticCustomError(kind, message, {"key": key}))] if failed else []
