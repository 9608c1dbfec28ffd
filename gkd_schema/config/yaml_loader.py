"""Safe YAML 1.2 loading that remembers where every key and value was written.

ruamel.yaml only parses here: its events are turned into plain Python values by
`yaml_builder` (nothing is constructed by ruamel, so no tag can run code), with
YAML 1.2 core-schema scalars (`1e-5` is a float, `yes` and `1_000` are text),
duplicate keys refused at the duplicate, only the core tags, merge keys (`<<`),
and bounds on size, nesting and alias expansion that hold before any work is
spent past them. A `%YAML` directive other than 1.2, or any `%TAG`, is refused:
a 1.1 document would mean other values for the same text.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import CollectionEndEvent, DocumentStartEvent, Event, NodeEvent
from ruamel.yaml.reader import ReaderError

from gkd_schema.config.yaml_builder import DocumentBuilder, mark_of
from gkd_schema.config.yaml_document import (
    LIMITS,
    AliasUse,
    LoadLimits,
    LoadWork,
    Mark,
    PositionMap,
    YamlLoadError,
)

__all__ = [
    "LIMITS",
    "AliasUse",
    "LoadLimits",
    "LoadWork",
    "LoadedDocument",
    "Mark",
    "PositionMap",
    "YamlLoadError",
    "decode_config_bytes",
    "load_document",
    "load_yaml",
    "read_config_bytes",
]

_DIRECTIVE = re.compile(r"%(\S*)")


@dataclass
class LoadedDocument:
    """A loaded document: its value, where each part was written, and what loading cost."""

    value: Any
    positions: PositionMap
    work: LoadWork


def _too_big(size: str, limits: LoadLimits) -> YamlLoadError:
    return YamlLoadError(
        f"the file is {size}, over the limit of {limits.max_bytes:,} bytes for a config; "
        "check that this is the right file",
        "file_too_large",
    )


def read_config_bytes(stream: IO[bytes], limits: LoadLimits = LIMITS, work: LoadWork | None = None) -> bytes:
    """Read a config file, never more than one byte past the size limit.

    Raises:
        YamlLoadError: the file is over `limits.max_bytes`.
    """
    data = stream.read(limits.max_bytes + 1)
    if work is not None:
        work.bytes_read += len(data)
    if len(data) > limits.max_bytes:
        raise _too_big(f"more than {limits.max_bytes:,} bytes", limits)
    return data


def decode_config_bytes(data: bytes) -> str:
    """Decode a config file as UTF-8 (a BOM is fine).

    Raises:
        YamlLoadError: the bytes are not UTF-8, with the line of the first bad byte.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise YamlLoadError(
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8",
            "encoding_error",
            Mark(line, column),
        ) from None


def _check_directives(text: str) -> None:
    """Refuse directives before the parser reads them (it asserts on some versions).

    Directives stand before the document's first content, so only the lines up to
    the first one that is not blank, a comment or a directive are looked at.
    """
    for number, line in enumerate(text.split("\n", 1000)[:1000], start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        found = _DIRECTIVE.match(line)
        if found is None:
            return
        parts = line.split()
        if found.group(1) == "YAML" and parts[1:2] == ["1.2"]:
            continue
        if found.group(1) == "YAML":
            written = parts[1] if len(parts) > 1 else ""
            message = (
                f"only YAML 1.2 is read, not {written or 'another version'}: remove the `{line.strip()}` line "
                "(under YAML 1.1 `yes` would mean true and `1:30` a number; here they are text)"
            )
            raise YamlLoadError(message, "yaml_version", Mark(number, 1))
        raise YamlLoadError(
            f"the directive `{stripped[:40]}` is not supported; remove the line (and write plain values)",
            "yaml_directive",
            Mark(number, 1),
        )


def _events(text: str) -> Iterator[Event]:
    """ruamel's parser events, with its errors turned into located `YamlLoadError`s."""
    yaml = YAML(typ="safe", pure=True)
    try:
        yield from yaml.parse(io.StringIO(text))
    except ReaderError as exc:  # a character YAML does not allow, by its index in the text
        index = int(exc.position)
        line = text.count("\n", 0, index) + 1
        column = index - (text.rfind("\n", 0, index) + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        raise YamlLoadError(
            f"invalid YAML: the control character U+{code:04X} is not allowed in YAML text; "
            f'write it as an escape inside double quotes ("\\u{code:04x}")',
            "yaml_syntax",
            Mark(line, column),
        ) from None
    except MarkedYAMLError as exc:
        problem_mark = exc.problem_mark or exc.context_mark
        mark = Mark(problem_mark.line + 1, problem_mark.column + 1) if problem_mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlLoadError(f"invalid YAML: {problem}", "yaml_syntax", mark) from None
    except (YAMLError, AssertionError) as exc:  # ruamel asserts on some malformed directives
        raise YamlLoadError(f"invalid YAML: {exc}", "yaml_syntax") from None


def load_document(text: str, limits: LoadLimits = LIMITS, work: LoadWork | None = None) -> LoadedDocument:
    """Parse one YAML 1.2 document into plain values, their positions and the work done.

    Args:
        text: The document.
        limits: Size, depth and value bounds.
        work: Counters to add to (a new one when None), e.g. with the bytes read.

    Returns:
        The value (None for an empty document), its positions and the work counters.

    Raises:
        YamlLoadError: syntax errors, directives, tags, duplicate keys, bounds exceeded.
    """
    work = LoadWork() if work is None else work
    if len(text) > limits.max_bytes:  # a character is at least one byte
        raise _too_big(f"{len(text):,} characters", limits)
    _check_directives(text)
    builder = DocumentBuilder(limits, work)
    documents = 0
    # ruamel warns on stderr about reused anchors and the like; the result says all that matters.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for event in _events(text):
            work.events += 1
            if isinstance(event, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise YamlLoadError(
                        "more than one document (a second `---`); a config is one document",
                        "yaml_syntax",
                        mark_of(event),
                    )
                version = getattr(event, "version", None)
                if version not in (None, (1, 2)) or getattr(event, "tags", None):
                    raise YamlLoadError(
                        "only YAML 1.2 without directives is read; remove the `%` lines",
                        "yaml_directive",
                        mark_of(event),
                    )
            elif isinstance(event, NodeEvent | CollectionEndEvent):
                builder.feed(event)
    return LoadedDocument(builder.result, builder.positions, work)


def load_yaml(text: str, limits: LoadLimits = LIMITS) -> tuple[Any, PositionMap]:
    """Parse one YAML 1.2 document into plain values and the positions of its keys.

    Raises:
        YamlLoadError: as `load_document`.
    """
    loaded = load_document(text, limits)
    return loaded.value, loaded.positions
