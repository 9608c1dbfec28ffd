"""The models stage: the Pydantic models of a gkd run config and its cross-field rules.

Takes nothing from the rest of the package; gives `RunConfig` and its sections, whose
types carry the ranges and enums the JSON Schema shows. Imports only pydantic.
"""

from gkd_schema.models.data_section import DataSection, DatasetSource
from gkd_schema.models.gkd_params import GkdParams, GkdSection
from gkd_schema.models.model_section import ModelSection
from gkd_schema.models.peft_section import PeftSection
from gkd_schema.models.run_config import RunConfig
from gkd_schema.models.training_section import TrainingSection

__all__ = [
    "DataSection",
    "DatasetSource",
    "GkdParams",
    "GkdSection",
    "ModelSection",
    "PeftSection",
    "RunConfig",
    "TrainingSection",
]
