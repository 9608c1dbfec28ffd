"""Hostile YAML inputs and what each must give: the error kind, key path and line.

One table feeds the file, `--set` and environment-variable tests, so an input
added here is checked through every way a value reaches gkd.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    """A document (or a value) and the located error it must produce."""

    id: str
    text: str
    kind: str
    loc: tuple[str | int, ...] | None  # None: too long to write out, not checked
    line: int | None


def _deep_block(levels: int) -> str:
    return "".join("  " * i + "k:\n" for i in range(levels)) + "  " * levels + "v: 1\n"


CASES = [
    # Class 1: never a traceback.
    Case("hex_without_digits_tagged", "a: !!int 0x_\n", "tag_mismatch", ("a",), 1),
    Case("int_tag_on_text", "a: !!int abc\n", "tag_mismatch", ("a",), 1),
    Case("int_over_4300_digits", "a: " + "9" * 5000 + "\n", "int_out_of_range", ("a",), 1),
    Case("hex_over_4300_digits", "a: 0x" + "f" * 5000 + "\n", "int_out_of_range", ("a",), 1),
    Case("int_over_64_bits", "a: 9223372036854775808\n", "int_out_of_range", ("a",), 1),
    Case("float_overflow", "a: 1e400\n", "float_out_of_range", ("a",), 1),
    Case("sexagesimal_under_1_1", "%YAML 1.1\n---\na: 1:30\n", "yaml_version", (), 1),
    Case("merge_reaching_itself", "a: &a {<<: *a}\n", "alias_cycle", ("a",), 1),
    Case("alias_inside_its_anchor", "a: &a [1, *a]\n", "alias_cycle", ("a", 1), 1),
    Case("undefined_alias", "a: *nowhere\n", "yaml_syntax", ("a",), 1),
    Case("deep_flow_500", "a: " + "[" * 500 + "]" * 500 + "\n", "too_deep", None, 1),
    Case("deep_flow_mappings", "a: " + "{b: " * 300 + "1" + "}" * 300 + "\n", "too_deep", None, 1),
    Case("deep_block_200", _deep_block(200), "too_deep", None, 66),
    Case("lone_surrogate", 'a: "\\ud83d"\n', "invalid_text", ("a",), 1),
    Case("control_character", "a: 1\nb: x\x01y\n", "yaml_syntax", (), 2),
    Case("yaml_version_assert", "%YAML 1.3\n---\na: 1\n", "yaml_version", (), 1),
    Case("second_document_directive", "a: 1\n...\n%YAML 1.3\n---\nb: 2\n", "yaml_syntax", (), None),
    # Class 3: YAML 1.2 only, nothing silently reinterpreted.
    Case("yaml_1_1_directive", "%YAML 1.1\n---\nbf16: yes\n", "yaml_version", (), 1),
    Case("tag_directive", "%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n", "yaml_directive", (), 1),
    Case("bool_tag_on_yes", "a: !!bool yes\n", "tag_mismatch", ("a",), 1),
    Case("null_tag_on_text", "a: !!null hello\n", "tag_mismatch", ("a",), 1),
    Case("float_tag_on_text", "a: !!float fast\n", "tag_mismatch", ("a",), 1),
    Case("seq_tag_on_mapping", "a: !!seq {x: 1}\n", "tag_mismatch", ("a",), 1),
    Case("timestamp_tag", "a: !!timestamp 2026-01-01\n", "unsafe_tag", ("a",), 1),
    Case("local_tag", "a: !custom x\n", "unsafe_tag", ("a",), 1),
    Case("duplicate_nested_key", "gkd:\n  beta: 0.1\n  beta: 0.2\n", "duplicate_key", ("gkd", "beta"), 3),
    Case(
        "duplicate_merge_key",
        "base: &b {x: 1}\ngkd:\n  <<: *b\n  <<: *b\n",
        "duplicate_key",
        ("gkd", "<<"),
        4,
    ),
    Case("key_with_wrong_tag", "!!int abc: 1\n", "tag_mismatch", (), 1),
    Case("alias_as_key", "a: &k x\n*k : 1\n", "yaml_syntax", (), 2),
    Case("merge_of_a_scalar", "a: &a 1\nb:\n  <<: *a\n", "yaml_syntax", ("b",), 3),
    Case("two_documents", "a: 1\n---\nb: 2\n", "yaml_syntax", (), 2),
]
