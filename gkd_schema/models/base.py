"""The configuration every section model shares: strict, closed, finite."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A config section: unknown keys are errors and nothing is coerced.

    Strictness keeps `gkd validate` in agreement with the JSON Schema an editor
    checks: `"128"` is not an integer, `1` is not a boolean, NaN is not a number.
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        validate_default=True,
        frozen=False,
        use_enum_values=True,
    )
