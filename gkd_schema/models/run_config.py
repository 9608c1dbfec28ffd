"""The whole-run config: one YAML file describing a distillation run."""

from __future__ import annotations

from typing import Self

from pydantic import Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from gkd_schema.models.base import Problem, StrictModel, raise_problems
from gkd_schema.models.data_section import DataSection
from gkd_schema.models.generation_section import GenerationSection
from gkd_schema.models.gkd_params import GkdSection
from gkd_schema.models.model_section import ModelSection
from gkd_schema.models.peft_section import PeftSection
from gkd_schema.models.rules import check_rules
from gkd_schema.models.teacher_section import TeacherSection
from gkd_schema.models.training_section import TrainingSection

# Validation context key: the caller collects every cross-field finding itself
# instead of the model raising the first error.
COLLECT_RULES = "gkd_collect_rules"


class RunConfig(StrictModel):
    """A GKD distillation run: student, teacher and knobs, data and training settings."""

    # Built on import, unlike the sections: every config is checked through it.
    model_config = StrictModel.model_config | {"title": "gkd run config", "defer_build": False}

    model: ModelSection = Field(description="The student model that is distilled.")
    gkd: GkdSection = Field(description="The teacher and the GKD knobs.")
    # An absent section is its defaults, set without validation: validating them would
    # build the section's own validator (deferred, see StrictModel), 2-4 ms of start-up.
    teacher: TeacherSection = Field(
        default_factory=TeacherSection.model_construct,
        description=("Where the teacher runs (here, or behind a vLLM server), what of its distribution the loss "
                     "sees (full vocabulary or top K), and whether it shares the student's tokenizer."),
    )
    data: DataSection = Field(description="Training and evaluation conversations.")
    generation: GenerationSection = Field(
        default_factory=GenerationSection.model_construct,
        description="Which engine samples on-policy completions (transformers' `generate` or vLLM).",
    )
    training: TrainingSection = Field(description="Optimisation, precision, cadence and output.")
    peft: PeftSection | None = Field(
        default=None, description="Train LoRA adapters instead of all student weights."
    )

    @model_validator(mode="after")
    def _cross_field(self, info: ValidationInfo) -> Self:
        if info.context and info.context.get(COLLECT_RULES):
            return self
        # Every failing rule at its own key path (a list of keys, never a dotted string).
        problems: list[Problem] = [
            (finding.loc, PydanticCustomError(finding.type, finding.message))
            for finding in check_rules(self)
            if finding.severity == "error"
        ]
        raise_problems(self, problems)
        return self
