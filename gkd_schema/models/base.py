"""The configuration every section model shares: strict, closed, finite."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, NamedTuple, Self

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

# Where a section-level problem lies, relative to the section (`()`: the section itself,
# its `key` context naming the key to change).
Problem = tuple[tuple[str | int, ...], PydanticCustomError]


class SectionRule(NamedTuple):
    """A rule across one section's own keys: the keys it reads, and what it finds wrong.

    `check` gets the section; or, when other keys of the section are invalid (pydantic
    then skips the section's validators), the section's valid keys as attributes, so the
    rule is still reported beside those errors (`config/section_rules.py`). It runs only
    when every key it reads is valid, and reads scalar keys only (a nested section would
    be its raw mapping there).
    """

    reads: tuple[str, ...]
    check: Callable[[Any], list[Problem]]


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
        # A section's own validator waits for its first use: configs are checked through
        # RunConfig's, which holds every section's; building each one as well cost 2 ms
        # of `gkd validate`'s start-up.
        defer_build=True,
    )

    # The section's cross-key rules, checked after its fields (and without the invalid ones).
    section_rules: ClassVar[tuple[SectionRule, ...]] = ()

    @model_validator(mode="after")
    def _check_section_rules(self) -> Self:
        raise_problems(self, [problem for rule in self.section_rules for problem in rule.check(self)])
        return self


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
