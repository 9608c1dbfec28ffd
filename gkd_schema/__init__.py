"""gkd: validated configs and a preflighted runner for GKD distillation."""

from gkd_schema.models import (
    DataSection,
    DatasetSource,
    GkdParams,
    GkdSection,
    ModelSection,
    PeftSection,
    RunConfig,
    TrainingSection,
)

__version__ = "0.1.0"

__all__ = [
    "DataSection",
    "DatasetSource",
    "GkdParams",
    "GkdSection",
    "ModelSection",
    "PeftSection",
    "RunConfig",
    "TrainingSection",
    "__version__",
]
