"""Bounded cost: the loader's limits hold, counted in work done (bytes, events, values), not time."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from bombs import alias_bomb, big_config, deep_flow, flat_values, nested_merges

from gkd_schema.config.validation import FileReport, validate_data, validate_file
from gkd_schema.config.yaml_loader import (
    LIMITS,
    LoadLimits,
    LoadWork,
    YamlLoadError,
    load_document,
    read_config_bytes,
)


def _refused(text: str, limits: LoadLimits = LIMITS) -> tuple[YamlLoadError, LoadWork]:
    work = LoadWork()
    with pytest.raises(YamlLoadError) as info:
        load_document(text, limits, work)
    return info.value, work


@pytest.mark.parametrize("text", [nested_merges(), alias_bomb()], ids=["nested_merges", "alias_bomb"])
def test_aliases_and_merges_stop_at_the_value_budget(text: str) -> None:
    error, work = _refused(text)
    assert error.kind == "too_large"
    assert "alias" in error.message and f"{LIMITS.max_values:,} values" in error.message
    # The alias that would cross the budget is refused before it is copied.
    assert work.values_built + work.values_copied <= LIMITS.max_values
    assert work.events < len(text)


def test_nested_merges_are_counted_as_merges_and_copies() -> None:
    loaded = load_document(nested_merges(levels=3, width=2))
    assert loaded.work.merges == 2
    assert loaded.work.aliases == 2 * 3
    assert loaded.value["l2"]["k0"] == 0 and loaded.value["l2"]["u1"]["u0"] == {"k0": 0, "k1": 1}
    total = loaded.work.values_built + loaded.work.values_copied
    assert total >= sum(1 for _ in _walk(loaded.value))


def _walk(value: object) -> list[object]:
    found = [value]
    if isinstance(value, dict):
        for item in value.values():
            found += _walk(item)
    elif isinstance(value, list):
        for item in value:
            found += _walk(item)
    return found


def test_many_written_values_name_the_real_cause() -> None:
    limits = LoadLimits(max_values=1_000)
    error, work = _refused(flat_values(1_010), limits)
    assert error.kind == "too_large"
    assert "alias" not in error.message and "more than 1,000 values" in error.message
    assert work.values_copied == 0
    assert work.values_built == limits.max_values


@pytest.mark.parametrize("levels", [100, 10_000, 400_000])
def test_nesting_is_refused_at_the_first_level_past_the_limit(levels: int) -> None:
    error, work = _refused(deep_flow(levels))
    assert error.kind == "too_deep"
    assert work.max_depth == LIMITS.max_depth + 1
    assert work.events <= LIMITS.max_depth + 5  # no event past the limit was asked of the parser


def test_an_alias_cannot_nest_past_the_depth_limit() -> None:
    inner = "[" * 40 + "]" * 40
    error, _ = _refused(f"x: &x {inner}\ny: " + "[" * 30 + "*x" + "]" * 30 + "\n")
    assert error.kind == "too_deep"


class _CountingStream(io.RawIOBase):
    """An endless file that counts the bytes asked of it."""

    def __init__(self) -> None:
        self.given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        buffer[:] = b"a" * len(buffer)
        self.given += len(buffer)
        return len(buffer)


def test_reading_stops_one_byte_past_the_size_limit() -> None:
    stream = _CountingStream()
    work = LoadWork()
    with pytest.raises(YamlLoadError) as info:
        read_config_bytes(io.BufferedReader(stream, buffer_size=4096), work=work)
    assert info.value.kind == "file_too_large"
    assert work.bytes_read == LIMITS.max_bytes + 1
    assert stream.given <= LIMITS.max_bytes + 4096 + 1


def test_a_50_mb_file_is_refused_with_its_own_message(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(50_000_000)  # sparse: costs no disk
    report = validate_file(path, environ={})
    assert [d.type for d in report.errors] == ["file_too_large"]
    assert "1,000,000 bytes" in report.errors[0].message
    assert "alias" not in report.errors[0].message


def test_text_over_the_limit_is_refused_before_parsing() -> None:
    error, work = _refused("a: " + "x" * LIMITS.max_bytes)
    assert error.kind == "file_too_large"
    assert work.events == 0


def test_a_1_mb_config_is_valid_and_costs_one_value_per_value() -> None:
    text = big_config(LIMITS.max_bytes)
    assert LIMITS.max_bytes - 200 < len(text.encode()) <= LIMITS.max_bytes
    loaded = load_document(text)
    report = validate_data(loaded.value, FileReport(path="big.yaml"))
    assert report.errors == []
    entries = len(loaded.value["training"]["extra_args"])
    assert loaded.work.values_copied == 0
    assert loaded.work.values_built == entries + 11  # the entries and the 11 values around them
