"""The two judges of a config the differential tests compare: the committed JSON
Schema (read by `jsonschema` as a draft-7 editor reads it) and the pydantic models.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, ValidationError, validators
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import ErrorDetails

from gkd_schema.artifacts.schema_export import SCHEMA_FILE_NAMES, SchemaBlock
from gkd_schema.config.yaml_loader import decode_config_bytes, load_yaml
from gkd_schema.models import RunConfig
from gkd_schema.models.run_config import COLLECT_RULES

REPO_ROOT = Path(__file__).resolve().parents[2]


def _ecma_regex(pattern: str) -> str:
    """Python spelling of an ECMA-262 pattern: `$` (outside classes) ends the input.

    Python's `$` also matches before a final newline; editors' JavaScript regexes
    do not. Without this, `jsonschema` would accept `"Qwen/x\\n"` where every
    editor (and the model) rejects it.
    """
    out, escaped, in_class = [], False, False
    for char in pattern:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif char == "[":
            in_class = True
            out.append(char)
        elif char == "]":
            in_class = False
            out.append(char)
        elif char == "$" and not in_class:
            out.append(r"\Z")
        else:
            out.append(char)
    return "".join(out)


def _ecma_pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not re.search(_ecma_regex(pattern), instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


EcmaDraft7Validator = validators.extend(Draft7Validator, {"pattern": _ecma_pattern})


@cache
def committed_schema(block: SchemaBlock = SchemaBlock.CONFIG) -> dict[str, Any]:
    """The schema file committed under `schemas/`."""
    text = (REPO_ROOT / "schemas" / SCHEMA_FILE_NAMES[block]).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_errors(data: Any, block: SchemaBlock = SchemaBlock.CONFIG) -> list[str]:
    """What the committed schema finds wrong with `data` (empty when it accepts it)."""
    validator = EcmaDraft7Validator(committed_schema(block))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


def model_error_details(data: Any) -> list[ErrorDetails]:
    """What the models find wrong, leaving out the cross-field rules of `rules.py`."""
    try:
        RunConfig.model_validate(data, context={COLLECT_RULES: True})
    except PydanticValidationError as exc:
        return exc.errors(include_url=False)
    return []


def model_errors(data: Any) -> list[str]:
    """`model_error_details` as one line per error."""
    return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in model_error_details(data)]


def _beyond_json_schema(error: ErrorDetails) -> bool:
    """True for an error on a value draft 7 cannot tell from a valid one (docs/editors.md).

    `128.0` is an integer to JSON Schema (and to an editor's JavaScript), and NaN or
    an infinity passes every bound comparison; the `validate_only` cases pin both rules.
    """
    value = error["input"]
    if not isinstance(value, float):
        return False
    if error["type"] == "int_type":
        return value.is_integer()
    return error["type"] == "finite_number" and not math.isfinite(value)


def disagreement(data: Any) -> str | None:
    """Why the schema and the models judge `data` differently, or None when they agree.

    Where the schema accepts what the models refuse only for rules JSON Schema cannot
    express (`_beyond_json_schema`), they count as agreeing.
    """
    from_schema, details = schema_errors(data), model_error_details(data)
    if bool(from_schema) == bool(details):
        return None
    if not from_schema and all(_beyond_json_schema(e) for e in details):
        return None
    from_models = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in details]
    return f"schema says {from_schema or 'valid'}; models say {from_models or 'valid'}"


def load_config_file(path: Path) -> Any:
    """A config file read the way `gkd validate` reads it."""
    data, _positions = load_yaml(decode_config_bytes(path.read_bytes()))
    return data


def expressible(data: Any) -> bool:
    """False when `data` holds what JSON Schema cannot tell apart (see docs/editors.md).

    NaN and infinities do not exist in JSON; mapping keys are always strings there.
    """
    if isinstance(data, float):
        return math.isfinite(data)
    if isinstance(data, list):
        return all(expressible(item) for item in data)
    if isinstance(data, dict):
        return all(isinstance(k, str) and expressible(v) for k, v in data.items())
    return True
