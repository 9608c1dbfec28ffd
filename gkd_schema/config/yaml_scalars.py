"""Scalars by the YAML 1.2 core schema, and explicit tags that must agree with them.

Plain scalars resolve by the core schema's regular expressions only: `1_000`,
`0b101`, `+0x10`, `yes` and `1:30` are text, as YAML 1.2 says. An explicit tag
(`!!int 5`) must describe its value; `!!bool yes` is an error, not `false`.
"""

from __future__ import annotations

import math
import re
from typing import Any

from gkd_schema.config.yaml_document import Mark, YamlLoadError

TAG_PREFIX = "tag:yaml.org,2002:"
MERGE_TAG = TAG_PREFIX + "merge"
COLLECTION_TAGS = {"map": TAG_PREFIX + "map", "seq": TAG_PREFIX + "seq"}
# Integers beyond 64 bits mean a mistake in a config; refusing them also keeps
# Python's int/str conversion limit (4,300 digits) out of reach.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1

_NULL = re.compile(r"(?:null|Null|NULL|~)?")
_BOOL = re.compile(r"true|True|TRUE|false|False|FALSE")
_INT10 = re.compile(r"[-+]?[0-9]+")
_INT8 = re.compile(r"0o[0-7]+")
_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_ALLOWED = "the tag `{tag}` is not allowed; write plain values"


def _integer(text: str, mark: Mark) -> int:
    digits = text.lstrip("+-")
    base = 10
    if _INT8.fullmatch(text) or _INT16.fullmatch(text):
        base, digits = (8 if text[1] == "o" else 16), text[2:]
    digits = digits.lstrip("0") or "0"
    # 25 digits of any base exceed 64 bits; longer ones are never converted at all.
    value = int(digits, base) if len(digits) <= 25 else INT_MAX + 1
    value = -value if text.startswith("-") else value
    if not INT_MIN <= value <= INT_MAX:
        shown = text if len(text) <= 24 else f"{text[:20]}... ({len(text)} characters)"
        raise YamlLoadError(
            f"the integer {shown} is out of range; integers are between -2**63 and 2**63-1",
            "int_out_of_range",
            mark,
        )
    return value


def _float(text: str, mark: Mark) -> float:
    if _NAN.fullmatch(text):
        return math.nan
    if _INF.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    value = float(text)
    if math.isinf(value):
        raise YamlLoadError(
            f"the number {text[:24]} is too large (it would be infinite); write a finite number",
            "float_out_of_range",
            mark,
        )
    return value


def _plain(text: str, mark: Mark) -> Any:
    """An untagged plain scalar, resolved by the core schema."""
    if _NULL.fullmatch(text):
        return None
    if _BOOL.fullmatch(text):
        return text[0] in "tT"
    if _INT10.fullmatch(text) or _INT8.fullmatch(text) or _INT16.fullmatch(text):
        return _integer(text, mark)
    if _FLOAT.fullmatch(text) or _INF.fullmatch(text) or _NAN.fullmatch(text):
        return _float(text, mark)
    return text


def _mismatch(tag: str, text: str, expected: str, mark: Mark) -> YamlLoadError:
    short = tag.removeprefix(TAG_PREFIX)
    return YamlLoadError(
        f"the tag `!!{short}` needs {expected}, got {text[:40]!r}; fix the value or remove the tag",
        "tag_mismatch",
        mark,
    )


def _tagged(tag: str, text: str, mark: Mark) -> Any:
    kind = tag.removeprefix(TAG_PREFIX) if tag.startswith(TAG_PREFIX) else None
    if kind == "str":
        return text
    if kind == "null":
        if not _NULL.fullmatch(text):
            raise _mismatch(tag, text, "null, ~ or nothing", mark)
        return None
    if kind == "bool":
        if not _BOOL.fullmatch(text):
            raise _mismatch(tag, text, "true or false", mark)
        return text[0] in "tT"
    if kind == "int":
        if not (_INT10.fullmatch(text) or _INT8.fullmatch(text) or _INT16.fullmatch(text)):
            raise _mismatch(tag, text, "an integer such as 12, 0o14 or 0xC", mark)
        return _integer(text, mark)
    if kind == "float":
        if not (_FLOAT.fullmatch(text) or _INF.fullmatch(text) or _NAN.fullmatch(text)):
            raise _mismatch(tag, text, "a number such as 1.5 or 2e-5", mark)
        return _float(text, mark)
    raise YamlLoadError(_NOT_ALLOWED.format(tag=tag), "unsafe_tag", mark)


def _text(text: str, mark: Mark) -> str:
    """Join UTF-16 surrogate pairs written as escapes (`"\\ud83d\\ude00"`, as JSON writes emoji)."""
    if _SURROGATE.search(text) is None:
        return text
    try:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        raise YamlLoadError(
            "the text holds a lone UTF-16 surrogate escape (`\\ud800`-`\\udfff`), which is "
            "not a character; write the character itself or its `\\U` escape",
            "invalid_text",
            mark,
        ) from None


def scalar_value(text: str, tag: str | None, plain: bool, mark: Mark) -> Any:
    """The value of one scalar.

    Args:
        text: The scalar as the parser gives it (escapes already applied).
        tag: Its resolved explicit tag, `!` for the non-specific tag, or None.
        plain: Whether it was written unquoted (only plain scalars resolve to
            numbers, booleans and null).
        mark: Where it starts, for errors.

    Raises:
        YamlLoadError: a tag other than the core ones, a tag that disagrees with
            the value, an integer beyond 64 bits or a lone surrogate escape.
    """
    text = _text(text, mark)
    if tag is None:
        return _plain(text, mark) if plain else text
    if tag == "!":  # the non-specific tag: a scalar is a string
        return text
    return _tagged(tag, text, mark)


def check_collection_tag(tag: str | None, kind: str, mark: Mark) -> None:
    """Refuse a tag on a mapping or list other than its own (`!!map`, `!!seq`) or `!`.

    Raises:
        YamlLoadError: `!!set`, `!!omap`, a local tag or the other kind's tag.
    """
    if tag is None or tag == "!" or tag == COLLECTION_TAGS[kind]:
        return
    if tag in COLLECTION_TAGS.values():
        other = "a list" if kind == "map" else "a mapping"
        raise YamlLoadError(
            f"the tag `{tag}` is for {other}; remove the tag", "tag_mismatch", mark
        )
    raise YamlLoadError(_NOT_ALLOWED.format(tag=tag), "unsafe_tag", mark)
