"""`training.extra_args` values against the types TRL's GKDConfig declares for them.

GKDConfig is a dataclass: it takes `logging_first_step: "yes"` or `dataloader_num_workers:
"2"` without a word and fails (or silently misbehaves) much later. gkd checks each value
against the field's annotation, with the same strictness as the rest of the config: no
string-to-number and no number-to-bool coercion, an integer is a valid float.
Annotations gkd cannot judge (classes a YAML value cannot be) accept anything.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Mapping
from typing import Any

from gkd_schema.config.diagnostics import Diagnostic

_UNJUDGED = object()  # an annotation this module does not check


def _matches(value: Any, annotation: Any) -> bool | object:
    """Whether `value` fits `annotation`, or `_UNJUDGED` when that cannot be told."""
    if annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        results = [_matches(value, arm) for arm in typing.get_args(annotation)]
        if any(r is True for r in results):
            return True
        return _UNJUDGED if any(r is _UNJUDGED for r in results) else False
    if origin is typing.Literal:
        return any(value == arm and type(value) is type(arm) for arm in typing.get_args(annotation))
    if origin in (list, tuple, set):
        args = typing.get_args(annotation)
        if not isinstance(value, list):
            return False
        if not args:
            return True
        results = [_matches(item, args[0]) for item in value]
        return not any(r is False for r in results)
    if origin is dict:
        return isinstance(value, dict)
    return _matches_plain(value, annotation)


def _matches_plain(value: Any, annotation: Any) -> bool | object:
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if annotation is dict:
        return isinstance(value, dict)
    if annotation is list:
        return isinstance(value, list)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return any(value == member.value for member in annotation)
    return _UNJUDGED


def _describe(annotation: Any) -> str:
    text = str(annotation).replace("typing.", "").replace("NoneType", "None")
    return text.removeprefix("<class '").removesuffix("'>")


def check_extra_arg_types(extra_args: Mapping[str, Any], declared: Mapping[str, Any]) -> list[Diagnostic]:
    """One error per `extra_args` value that does not fit GKDConfig's annotation for it.

    Args:
        extra_args: `training.extra_args` as written.
        declared: GKDConfig field name -> type annotation (unknown names are checked
            elsewhere and skipped here).

    Returns:
        Errors at `training.extra_args.KEY`, naming the declared type and the value.
    """
    errors = []
    for key, value in extra_args.items():
        if key not in declared or _matches(value, declared[key]) is not False:
            continue
        errors.append(
            Diagnostic(
                ("training", "extra_args", key),
                f"TRL's GKDConfig declares `{key}: {_describe(declared[key])}`, got "
                f"{type(value).__name__} {value!r}; write the value as that type "
                "(no quotes around numbers, `true`/`false` for booleans)",
                "extra_arg_wrong_type",
            )
        )
    return errors
