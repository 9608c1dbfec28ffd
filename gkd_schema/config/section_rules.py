"""Section rules beside field errors: a section with an invalid key still has its other rules checked.

pydantic runs a model's validators only when all its fields are valid, so a section
with one bad value would hide every cross-key rule of it (`mode: server` without
`server_url` next to an out-of-range `gpu_memory_utilization`). Each section declares
its rules with the keys they read (`models.base.SectionRule`); here, for every section
that has field errors, the rules whose keys are all valid run on the raw values (equal
to the parsed ones: nothing is coerced) and yield pydantic-style errors, located and
worded like the rest.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from gkd_schema.models.base import StrictModel

Loc = tuple[str | int, ...]


def section_rule_errors(root: type[BaseModel], data: Any, error_locs: Iterable[Loc]) -> list[dict[str, Any]]:
    """The errors of the rules pydantic skipped, as `ValidationError.errors()` gives errors."""
    out: list[dict[str, Any]] = []
    _walk(root, data, (), [tuple(loc) for loc in error_locs], out)
    return out


def _walk(model: type[BaseModel], raw: Any, path: Loc, locs: list[Loc], out: list[dict[str, Any]]) -> None:
    if not isinstance(raw, dict):
        return
    bad = {loc[len(path)] for loc in locs if len(loc) > len(path) and loc[: len(path)] == path}
    if not bad:
        return  # pydantic ran this section's rules itself
    fields = model.model_fields
    if issubclass(model, StrictModel) and model.section_rules:
        values = types.SimpleNamespace(
            **{
                name: raw[name] if name in raw else field.get_default(call_default_factory=True)
                for name, field in fields.items()
                if name not in bad
            }
        )
        for rule in model.section_rules:
            if bad.isdisjoint(rule.reads):
                for loc, error in rule.check(values):
                    out.append(
                        {"type": error.type, "loc": path + loc, "msg": error.message(), "input": raw,
                         "ctx": error.context or {}}
                    )
    for name in bad:
        nested = _section_model(fields[name].annotation) if isinstance(name, str) and name in fields else None
        if nested is not None:
            _walk(nested, raw.get(name), (*path, name), locs, out)


def _section_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a field that holds a section (`X` or `X | None`), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        models = [a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        return models[0] if len(models) == 1 else None
    return None
