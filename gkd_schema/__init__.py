"""gkd: validated configs and a preflighted runner for GKD distillation.

The config models are loaded on first use (`gkd_schema.RunConfig`), so that the CLI
can set up pydantic before they are built (`gkd_schema.cli.entry`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    if name in __all__:
        from gkd_schema import models

        return getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
