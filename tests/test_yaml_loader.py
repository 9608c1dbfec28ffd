"""The YAML loader: YAML 1.2 scalars, positions, and refusals that protect users."""

from __future__ import annotations

import math

import pytest

from gkd_schema.config.yaml_loader import (
    LIMITS,
    LoadWork,
    Mark,
    YamlLoadError,
    decode_config_bytes,
    load_document,
    load_yaml,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e-5", 1e-5), ("2E-5", 2e-5), ("1.", 1.0), (".5", 0.5), ("-.5", -0.5),
        ("0o17", 15), ("0x1F", 31), ("+12", 12), ("012", 12), ("-0", 0),
        # Not YAML 1.2 core-schema integers: text, so an int field says so with a hint.
        ("1_000", "1_000"), ("0b101", "0b101"), ("+0x10", "+0x10"), ("-0o7", "-0o7"), ("0x_", "0x_"),
        ("1:30", "1:30"), ("1_000.5", "1_000.5"), (".Inf", math.inf), ("-.INF", -math.inf),
        ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("y", "y"),
        ("true", True), ("False", False), ("~", None), ("null", None), ("", None),
        ("2026-01-01", "2026-01-01"), ('"128"', "128"), ("'1e-5'", "1e-5"),
    ],
)
def test_yaml_1_2_scalars(text: str, value: object) -> None:
    loaded, _ = load_yaml(f"k: {text}\n")
    assert loaded == {"k": value}
    assert type(loaded["k"]) is type(value)


@pytest.mark.parametrize(("text", "sign"), [(".inf", 1), ("-.inf", -1), ("+.INF", 1)])
def test_infinities_load_so_validation_can_reject_them(text: str, sign: int) -> None:
    assert load_yaml(f"k: {text}")[0]["k"] == sign * math.inf


def test_nan_loads() -> None:
    assert math.isnan(load_yaml("k: .nan")[0]["k"])


def test_positions_are_one_based_for_keys_and_values() -> None:
    _, positions = load_yaml("a:\n  bb: 1\n  list: [x, y]\n")
    assert positions.keys[("a", "bb")] == Mark(2, 3)
    assert positions.values[("a", "bb")] == Mark(2, 7)
    assert positions.values[("a", "list", 1)] == Mark(3, 13)
    assert positions.locate(("a", "missing")) == Mark(1, 1)


def test_duplicate_key_is_reported_at_the_duplicate() -> None:
    with pytest.raises(YamlLoadError) as info:
        load_yaml("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert info.value.kind == "duplicate_key"
    assert info.value.mark == Mark(4, 3)
    assert "line 3" in info.value.message


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system ['touch /tmp/gkd-pwned']\n",
        "a: !!python/name:os.system\n",
        "a: !custom x\n",
        "a: !!binary aGVsbG8=\n",
        "a: !!set {x, y}\n",
    ],
)
def test_unsafe_tags_are_refused_without_running(text: str, tmp_path: object) -> None:
    with pytest.raises(YamlLoadError) as info:
        load_yaml(text)
    assert info.value.kind == "unsafe_tag"
    assert info.value.mark is not None and info.value.mark.line == 1


def test_alias_bomb_is_rejected_before_it_expands() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
        previous = name
    work = LoadWork()
    with pytest.raises(YamlLoadError) as info:
        load_document("\n".join(lines), work=work)
    assert info.value.kind == "too_large"
    assert work.values_built + work.values_copied <= LIMITS.max_values


def test_deep_nesting_is_rejected() -> None:
    with pytest.raises(YamlLoadError) as info:
        load_yaml("a: " + "[" * 100 + "]" * 100)
    assert info.value.kind == "too_deep"


def test_anchors_and_merge_keys() -> None:
    text = "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n"
    assert load_yaml(text)[0] == {"base": {"x": 1, "y": 2}, "other": {"x": 1, "y": 3}}


def test_syntax_error_has_a_position() -> None:
    with pytest.raises(YamlLoadError) as info:
        load_yaml("a: 1\n b: 2\n")
    assert info.value.kind == "yaml_syntax"
    assert info.value.mark is not None and info.value.mark.line == 2


def test_multiple_documents_are_refused() -> None:
    with pytest.raises(YamlLoadError):
        load_yaml("a: 1\n---\nb: 2\n")


def test_bom_crlf_and_comments_are_fine() -> None:
    text = decode_config_bytes(b"\xef\xbb\xbf# c\r\na: 1 # c\r\nb: x\r\n")
    loaded, positions = load_yaml(text)
    assert loaded == {"a": 1, "b": "x"}
    assert positions.keys[("b",)] == Mark(3, 1)


def test_non_utf8_names_the_line() -> None:
    with pytest.raises(YamlLoadError) as info:
        decode_config_bytes(b"a: 1\nb: caf\xe9\n")
    assert info.value.kind == "encoding_error"
    assert info.value.mark == Mark(2, 7)
