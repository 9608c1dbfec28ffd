"""The GKD parameter block, compatible with the reference GKD semantics.

Field names, defaults and ranges follow TRL's `GKDConfig`; see
`docs/reference.md` for the generated reference.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from gkd_schema.models.base import StrictModel
from gkd_schema.models.identifiers import ModelId

TorchDtype = Literal["auto", "float32", "float16", "bfloat16"]
TORCH_DTYPES: tuple[str, ...] = get_args(TorchDtype)


def _check_finite(value: Any, key: str) -> None:
    """Reject NaN and infinities anywhere inside a free-form mapping."""
    if isinstance(value, float) and not math.isfinite(value):
        raise PydanticCustomError(
            "finite_number", "`{key}` must be a finite number, got {value}", {"key": key, "value": value}
        )
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{key}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_finite(v, f"{key}[{i}]")


def check_teacher_init_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Validate the keyword arguments used to load the teacher.

    Raises:
        PydanticCustomError: `torch_dtype` (renamed `dtype`), `trust_remote_code`
            (a separate, typed switch) or an unknown `dtype`.
    """
    if "torch_dtype" in kwargs:
        raise PydanticCustomError(
            "renamed_key",
            "`torch_dtype` is deprecated in transformers; rename it to `dtype` "
            "(one of {choices})",
            {"key": "torch_dtype", "choices": ", ".join(TORCH_DTYPES)},
        )
    if "trust_remote_code" in kwargs:
        raise PydanticCustomError(
            "remote_code_in_kwargs",
            "`trust_remote_code` is not accepted here; set "
            "`gkd.teacher_trust_remote_code: true` to run the teacher's remote code",
            {"key": "trust_remote_code"},
        )
    if "dtype" in kwargs and kwargs["dtype"] not in TORCH_DTYPES:
        raise PydanticCustomError(
            "dtype_choice",
            "`dtype` must be one of {choices}, got {value}",
            {"key": "dtype", "choices": ", ".join(TORCH_DTYPES), "value": repr(kwargs["dtype"])},
        )
    for key, value in kwargs.items():
        _check_finite(value, key)
    return kwargs


TeacherInitKwargs = Annotated[
    dict[str, Any],
    AfterValidator(check_teacher_init_kwargs),
    Field(
        json_schema_extra={
            "properties": {
                "dtype": {
                    "enum": list(TORCH_DTYPES),
                    "description": "Precision to load the teacher's weights in.",
                },
                "torch_dtype": False,
                "trust_remote_code": False,
            },
        }
    ),
]


class GkdParams(StrictModel):
    """The knobs of Generalized Knowledge Distillation (arXiv 2306.13649)."""

    teacher_model_name_or_path: ModelId | None = Field(
        default=None,
        description=(
            "The teacher model: a Hugging Face Hub repo id (`namespace/name`) or a local "
            "path starting with `/`, `./`, `../` or `~`. It must share the student's "
            "vocabulary."
        ),
    )
    teacher_model_init_kwargs: TeacherInitKwargs = Field(
        default_factory=lambda: {"dtype": "auto"},
        description=(
            "Keyword arguments for loading the teacher with `from_pretrained`. `dtype` is "
            "one of auto, float32, float16, bfloat16 (added as `auto` when missing)."
        ),
    )
    temperature: float = Field(
        default=0.9,
        gt=0.0,
        le=1.0,
        description=(
            "Sampling temperature of on-policy generation, in (0, 1]. TRL's GKD trainer "
            "does not apply it to the loss."
        ),
    )
    lmbda: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description=(
            "Student data fraction: the probability that a batch is replaced by "
            "completions the student generates itself (1.0 fully on-policy, 0.0 the "
            "dataset's completions only)."
        ),
    )
    beta: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description=(
            "Interpolation of the generalized Jensen-Shannon divergence: 0.0 is forward "
            "KL(teacher || student), 1.0 reverse KL(student || teacher), in between the "
            "beta-mixture JSD."
        ),
    )
    max_new_tokens: int = Field(
        default=128,
        gt=0,
        description="Number of tokens generated for each on-policy (or seq_kd) completion.",
    )
    disable_dropout: bool = Field(
        default=True,
        description="Turn dropout off in student and teacher; recommended for stable distillation.",
    )
    seq_kd: bool = Field(
        default=False,
        description=(
            "Sequence-level KD: when a batch is not on-policy, train on completions the "
            "teacher generates instead of the dataset's."
        ),
    )

    def to_hf_trainer_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for TRL's `GKDConfig`.

        The teacher path is not among them: it goes to the trainer's `teacher_model`.

        Returns:
            The six scalar knobs and a copy of `teacher_model_init_kwargs` that has
            `dtype` (`"auto"` when the config gives none).
        """
        init_kwargs = dict(self.teacher_model_init_kwargs)
        init_kwargs.setdefault("dtype", "auto")
        return {
            "temperature": self.temperature,
            "lmbda": self.lmbda,
            "beta": self.beta,
            "max_new_tokens": self.max_new_tokens,
            "disable_dropout": self.disable_dropout,
            "seq_kd": self.seq_kd,
            "teacher_model_init_kwargs": init_kwargs,
        }


LossImplementation = Literal["chunked", "fused", "trl", "liger"]


class GkdSection(GkdParams):
    """The `gkd` section of a run config: a `GkdParams` whose teacher is required."""

    teacher_model_name_or_path: ModelId = Field(
        description=(
            "The teacher model (required for a run): a Hugging Face Hub repo id "
            "(`namespace/name`) or a local path starting with `/`, `./`, `../` or `~`; a "
            "name that is an existing folder in the directory gkd runs in is that folder, "
            "as in transformers. It must share the student's tokenizer."
        ),
    )
    teacher_trust_remote_code: bool = Field(
        default=False,
        description=(
            "Run custom modelling code shipped with the teacher's checkpoint. Off unless "
            "you trust its source."
        ),
    )
    loss_implementation: LossImplementation = Field(
        default="chunked",
        description=(
            "How the generalized JSD loss is computed. `chunked` (default, any device): "
            "TRL's numbers, token chunk by chunk, a fraction of the memory. `fused`: also "
            "never builds the full logits (single process; needs a plain linear `lm_head`). "
            "`trl`: TRL's own loss. `liger`: Liger's fused kernel (needs `liger-kernel` and a "
            "CUDA GPU)."
        ),
    )
