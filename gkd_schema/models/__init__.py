"""Pydantic models of a gkd run config."""

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
