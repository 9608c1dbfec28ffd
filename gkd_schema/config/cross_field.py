"""Cross-field rules on the sections that are valid, so that they are reported next to field errors.

`RunConfig` exists only when every section is valid, yet a rule that reads
`gkd` and `training` says something true whenever those two are. Each rule runs
against the sections that validated on their own; a rule that reads a section
with errors is skipped (its inputs are not known).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from gkd_schema.models import DataSection, GkdSection, ModelSection, TrainingSection
from gkd_schema.models.generation_section import GenerationSection
from gkd_schema.models.rules import RULES, Finding
from gkd_schema.models.teacher_section import TeacherSection


class _SectionUnavailable(Exception):
    """A rule asked for a section that did not validate."""


class _ValidSections:
    """The sections a rule may read, validated one by one from the raw data."""

    def __init__(self, data: Mapping[str, Any], broken: set[str]) -> None:
        self._data = data
        self._broken = broken
        self._cache: dict[str, BaseModel] = {}

    def _section(self, name: str, model: type[BaseModel], *, optional: bool = False) -> Any:
        if name not in self._cache:
            if optional and name not in self._broken and self._data.get(name) is None:
                self._cache[name] = model()  # an optional section left out has its defaults
            elif name in self._broken or name not in self._data:
                raise _SectionUnavailable(name)
            else:
                try:
                    self._cache[name] = model.model_validate(self._data[name])
                except ValidationError:
                    raise _SectionUnavailable(name) from None
        return self._cache[name]

    @property
    def model(self) -> ModelSection:
        return self._section("model", ModelSection)  # type: ignore[no-any-return]

    @property
    def gkd(self) -> GkdSection:
        return self._section("gkd", GkdSection)  # type: ignore[no-any-return]

    @property
    def data(self) -> DataSection:
        return self._section("data", DataSection)  # type: ignore[no-any-return]

    @property
    def training(self) -> TrainingSection:
        return self._section("training", TrainingSection)  # type: ignore[no-any-return]

    @property
    def teacher(self) -> TeacherSection:
        return self._section("teacher", TeacherSection, optional=True)  # type: ignore[no-any-return]

    @property
    def generation(self) -> GenerationSection:
        return self._section("generation", GenerationSection, optional=True)  # type: ignore[no-any-return]


def rules_on_valid_sections(data: Mapping[str, Any], broken: set[str]) -> list[Finding]:
    """Every finding of every rule whose sections are all valid.

    Args:
        data: The config as loaded, overrides applied.
        broken: Top-level sections that have field errors.
    """
    sections = _ValidSections(data, broken)
    findings: list[Finding] = []
    for rule in RULES:
        try:
            findings.extend(rule(sections))
        except _SectionUnavailable:
            continue
    return findings
