"""The configuration every section model shares: strict, closed, finite."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

# Where a section-level problem lies, relative to the section (`()`: the section itself,
# its `key` context naming the key to change).
Problem = tuple[tuple[str | int, ...], PydanticCustomError]


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


def raise_problems(section: BaseModel, problems: Sequence[Problem]) -> None:
    """Raise every problem a section validator found, each at its own `loc`.

    A model validator can raise only one exception; a `ValidationError` carrying one
    line error per problem is merged by pydantic into the enclosing errors, so one run
    reports all of a section's independent mistakes rather than the first.

    Raises:
        ValidationError: when `problems` is not empty.
    """
    if problems:
        details = [InitErrorDetails(type=error, loc=loc, input=section) for loc, error in problems]
        raise ValidationError.from_exception_data(type(section).__name__, details)
