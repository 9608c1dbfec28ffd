"""Read a source config with gkd's own YAML loader, so a bad file is a located error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gkd_schema.config.yaml_loader import PositionMap, YamlLoadError, decode_config_bytes, load_yaml
from gkd_schema.convert.plan import ConvertError


def read_source(path: Path) -> tuple[dict[str, Any], PositionMap]:
    """The top-level mapping of the source file and the positions of its keys.

    Raises:
        ConvertError: unreadable, not UTF-8, invalid YAML, or not a mapping.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConvertError(f"cannot read the file: {exc.strerror}") from None
    try:
        data, positions = load_yaml(decode_config_bytes(raw))
    except YamlLoadError as exc:
        mark = exc.mark
        raise ConvertError(exc.message, mark.line if mark else None, mark.column if mark else None) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise ConvertError(f"the file is {kind}; a training config is a mapping of keys", 1, 1)
    return data, positions


def error_at(positions: PositionMap, loc: tuple[str | int, ...], message: str) -> ConvertError:
    """A `ConvertError` placed at the key `loc` (or the nearest enclosing one)."""
    mark = positions.locate(loc, prefer_key=True)
    return ConvertError(message, mark.line if mark else None, mark.column if mark else None)
