"""What a cross-field rule reads (the run's sections) and what it yields (findings)."""

from __future__ import annotations

from typing import Literal, NamedTuple, Protocol

from gkd_schema.models.data_section import DataSection
from gkd_schema.models.generation_section import GenerationSection
from gkd_schema.models.gkd_params import GkdSection
from gkd_schema.models.model_section import ModelSection
from gkd_schema.models.teacher_section import TeacherSection
from gkd_schema.models.training_section import TrainingSection

Severity = Literal["error", "warning"]


class RunSections(Protocol):
    """The sections of a run the rules read: `RunConfig` is one.

    A protocol rather than `RunConfig` itself, which runs these rules in its own
    validator, so that the dependency goes one way only.
    """

    @property
    def model(self) -> ModelSection: ...

    @property
    def gkd(self) -> GkdSection: ...

    @property
    def data(self) -> DataSection: ...

    @property
    def training(self) -> TrainingSection: ...

    @property
    def teacher(self) -> TeacherSection: ...

    @property
    def generation(self) -> GenerationSection: ...


class Finding(NamedTuple):
    """One result of a cross-field rule."""

    loc: tuple[str | int, ...]
    message: str
    type: str
    severity: Severity
