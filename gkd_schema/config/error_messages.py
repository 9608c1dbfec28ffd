"""Turn pydantic's validation errors into messages that name the fix.

Pydantic says "Input should be less than or equal to 1"; a user wants
`must be in (0, 1], got 1.5`, and for a typo, `did you mean `lmbda`?`.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterable
from typing import Any, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from gkd_schema.config.diagnostics import Diagnostic, Loc
from gkd_schema.models.server_url import SERVER_URL_PATTERN
from gkd_schema.models.weight_sync import HOST_PATTERN

_PATTERN_MEANINGS = {
    r"\.(jsonl|json|parquet|csv)$": "must be a .jsonl, .json, .parquet or .csv file",
    r"^(/|\./|\.\./|~)": "must be a checkpoint path starting with `/`, `./`, `../` or `~`",
    SERVER_URL_PATTERN: "must be an http:// or https:// address such as `http://127.0.0.1:8000`",
    HOST_PATTERN: "must be a host name or an IP address (IPv6 without brackets)",
}
_TYPE_NAMES = {
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "text",
    "dict_type": "a mapping (indented `key: value` lines)",
    "model_type": "a mapping (indented `key: value` lines)",
    "model_attributes_type": "a mapping (indented `key: value` lines)",
    "list_type": "a list",
}


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The closest of `choices` to a mistyped `word`, if any is close."""
    import difflib  # here: only a config with a mistake needs it, and `gkd validate` starts faster

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _model_class(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside `X`, `X | None`, `Annotated[X, ...]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType) or hasattr(annotation, "__metadata__"):
        for arg in get_args(annotation):
            found = _model_class(arg)
            if found is not None:
                return found
    return None


def _field_at(root: type[BaseModel], loc: Loc) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The model that owns the last key of `loc`, and that key's field."""
    model: type[BaseModel] | None = root
    info: FieldInfo | None = None
    for i, part in enumerate(loc):
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return (model if i == len(loc) - 1 else None), None
        info = model.model_fields[part]
        if i < len(loc) - 1:
            model = _model_class(info.annotation)
    return model, info


def _interval(info: FieldInfo | None) -> str | None:
    """`(0, 1]`, `>= 1` and the like, from a field's numeric bounds."""
    if info is None:
        return None
    low = high = None
    for item in info.metadata:
        if isinstance(item, Gt):
            low = f"({item.gt:g}"
        elif isinstance(item, Ge):
            low = f"[{item.ge:g}"
        elif isinstance(item, Lt):
            high = f"{item.lt:g})"
        elif isinstance(item, Le):
            high = f"{item.le:g}]"
    if low and high:
        return f"in {low}, {high}"
    if low:
        return f"{'>' if low[0] == '(' else '>='} {low[1:]}"
    if high:
        return f"{'<' if high[-1] == ')' else '<='} {high[:-1]}"
    return None


def _yaml_1_1_number(text: str) -> str | None:
    """`1000` for `1_000`, `5` for `0b101`: numbers YAML 1.1 reads and YAML 1.2 does not."""
    text = text.strip()
    if len(text) > 40:
        return None
    try:
        return str(int(text, 0))
    except ValueError:
        pass
    try:
        return f"{float(text):g}" if "_" in text else None
    except ValueError:
        return None


def _type_message(err: ErrorDetails) -> str:
    expected = _TYPE_NAMES[err["type"]]
    value = err["input"]
    message = f"expected {expected}, got {_describe(value)}"
    if isinstance(value, str) and err["type"] in ("int_type", "float_type", "bool_type"):
        from gkd_schema.config.yaml_loader import load_yaml

        try:
            parsed, _ = load_yaml(value)
        except Exception:  # the text is not YAML at all: no unquoting hint
            parsed = None
        if parsed is not None and not isinstance(parsed, str):
            return f"{message}; remove the quotes: {value.strip()}"
        number = _yaml_1_1_number(value) if err["type"] != "bool_type" else None
        if number is not None:
            return f"{message} (YAML 1.2 has no `_` separators, `0b` or signed hex); write {number}"
        if err["type"] == "bool_type" and value.lower() in ("yes", "no", "on", "off", "y", "n"):
            word = "true" if value.lower() in ("yes", "on", "y") else "false"
            return f"{message} (YAML 1.2 reads `{value}` as text); write {word}"
    if err["type"] == "bool_type" and value in (0, 1):
        return f"{message}; write {'true' if value else 'false'}"
    if err["type"] == "int_type" and isinstance(value, float) and value.is_integer():
        return f"{message}; write {int(value)}"
    return message


def _misspelling_of(name: str, parent: Any) -> str | None:
    """A key written next to a missing one that looks like a typo of it."""
    if not isinstance(parent, dict):
        return None
    near = [key for key in parent if key != name and suggest(name, [key]) == key]
    return near[0] if near else None


def _message(err: ErrorDetails, root: type[BaseModel], loc: Loc, data: Any = None) -> str:
    kind = err["type"]
    ctx = err.get("ctx", {})
    if kind == "missing":
        owner = ".".join(str(p) for p in loc[:-1])
        where = f" under `{owner}:`" if owner else ""
        parent = data
        for part in loc[:-1]:
            parent = parent[part] if _contains(parent, part) else None
        typo = _misspelling_of(str(loc[-1]), parent)
        hint = f" (is `{typo}` a misspelling of it?)" if typo else ""
        return f"required key is missing; add `{loc[-1]}:`{where}{hint}"
    if kind == "extra_forbidden":
        model, _ = _field_at(root, loc)
        known = sorted(model.model_fields) if model else []
        close = suggest(str(loc[-1]), known)
        if close:
            return f"unknown key `{loc[-1]}`; did you mean `{close}`?"
        return f"unknown key `{loc[-1]}`; allowed keys: {', '.join(known)}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        rule = _interval(_field_at(root, loc)[1]) or err["msg"].lower()
        return f"must be {rule}, got {err['input']!r}"
    if kind == "finite_number":
        return f"must be a finite number, got {err['input']}"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        message = f"must be one of {', '.join(choices)}; got {_describe(err['input'])}"
        close = suggest(str(err["input"]), choices) if isinstance(err["input"], str) else None
        return f"{message}; did you mean `{close}`?" if close else message
    if kind == "string_pattern_mismatch":
        meaning = _PATTERN_MEANINGS.get(str(ctx.get("pattern")), "has the wrong form")
        return f"{meaning}, got {err['input']!r}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind in _TYPE_NAMES:
        return _type_message(err)
    return err["msg"]


def _contains(container: Any, part: str | int) -> bool:
    if isinstance(container, dict):
        return isinstance(part, str) and part in container
    return isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container)


def _clean_loc(err: ErrorDetails, data: Any) -> Loc:
    """Drop the parts pydantic adds for union members and validators."""
    loc: list[str | int] = []
    current = data
    raw = err["loc"]
    for i, part in enumerate(raw):
        if _contains(current, part):
            current = current[part]
        elif not (i == len(raw) - 1 and err["type"] == "missing" and isinstance(part, str)):
            continue
        loc.append(part)
    key = err.get("ctx", {}).get("key")
    if isinstance(key, str):  # a model validator naming the key to change
        loc.append(key)
    return tuple(loc)


def diagnostics_from_errors(
    errors: Iterable[ErrorDetails], root: type[BaseModel], data: Any
) -> list[Diagnostic]:
    """One diagnostic per problem; alternatives of one union become one message.

    Args:
        errors: `ValidationError.errors()` of validating `data` as `root`.
        root: The model validated.
        data: The input, to tell real keys from pydantic's union tags.
    """
    by_loc: dict[Loc, list[tuple[str, str]]] = {}
    for err in errors:
        loc = _clean_loc(err, data)
        by_loc.setdefault(loc, []).append((err["type"], _message(err, root, loc, data)))
    out = []
    for loc, found in by_loc.items():
        messages = list(dict.fromkeys(message for _, message in found))
        out.append(Diagnostic(loc=loc, message="; or ".join(messages), type=found[0][0]))
    return out
