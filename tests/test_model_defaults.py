"""Absent sections are their defaults, set without building the section's own validator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gkd_schema.models import RunConfig
from gkd_schema.models.generation_section import GenerationSection, VllmSettings
from gkd_schema.models.teacher_section import TeacherSection

GOOD = str(Path(__file__).parent / "configs" / "positive" / "minimal.yaml")


@pytest.mark.parametrize(
    ("owner", "key", "section"),
    [(RunConfig, "teacher", TeacherSection), (RunConfig, "generation", GenerationSection),
     (GenerationSection, "vllm", VllmSettings)],
)
def test_an_absent_section_equals_its_validated_defaults(owner: type, key: str, section: type) -> None:
    factory = owner.model_fields[key].default_factory
    assert factory is not None
    unvalidated = factory()
    assert type(unvalidated) is section
    assert unvalidated.model_dump() == section.model_validate({}).model_dump()
    assert unvalidated.model_fields_set == set()  # as if the key had not been written


PROBE = """
import json, sys
from pathlib import Path
from pydantic._internal._mock_val_ser import MockValSer
from gkd_schema.config.validation import validate_file
from gkd_schema.models import generation_section, teacher_section
result = validate_file(Path(sys.argv[1]))
built = [cls.__name__ for cls in (teacher_section.TeacherSection, generation_section.GenerationSection,
         generation_section.VllmSettings) if not isinstance(cls.__pydantic_validator__, MockValSer)]
print(json.dumps([result.config is not None, built]))
"""


def test_a_config_without_those_sections_builds_no_validator_of_theirs() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE, GOOD], capture_output=True, text=True, timeout=120)
    valid, built = json.loads(done.stdout.strip().splitlines()[-1])
    assert valid, done.stderr
    assert built == []
