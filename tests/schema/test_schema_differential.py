"""The committed schema and the models agree on every config the schema can judge.

Generated configs and hand-written files in `cases/agree/{valid,invalid}` must get
the same verdict from both. Files in `cases/validate_only` show the rules only
`gkd validate` checks (docs/editors.md): the schema accepts them, validation does not.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from config_strategies import (
    JUNK_SAMPLES,
    TYPO_KEYS,
    configs,
    leaf_properties,
    plausible_values,
    twisted_values,
)
from hypothesis import HealthCheck, event, given, settings
from schema_oracles import (
    REPO_ROOT,
    committed_schema,
    disagreement,
    expressible,
    load_config_file,
    model_errors,
    schema_errors,
)

from gkd_schema.config.validation import validate_file

CASES = Path(__file__).parent / "cases"
VALID = sorted((CASES / "agree" / "valid").glob("*.yaml"))
INVALID = sorted((CASES / "agree" / "invalid").glob("*.yaml"))
VALIDATE_ONLY = sorted((CASES / "validate_only").glob("*.yaml"))
# The loader/validator tests' positive examples and the shipped examples must pass
# the schema too.
SHARED_POSITIVE = sorted((REPO_ROOT / "tests" / "configs" / "positive").glob("*.yaml")) + [
    path
    for path in sorted((REPO_ROOT / "examples").rglob("*.yaml"))
    if path.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=")
]
VERDICTS: Counter[str] = Counter()
LEAVES = leaf_properties(committed_schema())
# What an optional section holds when one of its keys is under test.
SECTION_SEEDS: dict[tuple[str, ...], dict[str, Any]] = {
    ("peft",): {},
    ("data", "eval"): {"path": "data/eval.jsonl"},
}


def _verdicts(data: object) -> tuple[list[str], list[str]]:
    return schema_errors(data), model_errors(data)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=configs(committed_schema()))
def test_generated_configs_get_the_same_verdict(data: object) -> None:
    verdict = "valid" if not model_errors(data) else "invalid"
    event(verdict)
    VERDICTS[verdict] += 1
    for twist in _twists(data):
        event(twist)
        TWISTS[twist] += 1
    assert disagreement(data) is None


@pytest.mark.parametrize("path", [p for p, _ in LEAVES], ids=".".join)
def test_every_value_of_every_key_gets_the_same_verdict(path: tuple[str, ...]) -> None:
    """Each key, alone, set to each plausible value and each kind of junk."""
    prop = dict(LEAVES)[path]
    disagreements = []
    plausible = plausible_values(prop)
    for value in [*plausible, *twisted_values(plausible), *JUNK_SAMPLES, _MISSING]:
        found = disagreement(_minimal_with(path, value))
        if found:
            disagreements.append((value, found))
    assert not disagreements


SECTIONS = [(), ("model",), ("gkd",), ("data",), ("data", "train"), ("data", "eval"),
            ("training",), ("peft",)]


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: ".".join(s) or "root")
def test_every_section_gets_the_same_verdict(section: tuple[str, ...]) -> None:
    """A section replaced by null, junk or nothing; an unknown key inside it."""
    cases = [_minimal_with((*section, key), 1) for key in TYPO_KEYS]
    if section:
        cases += [_minimal_with(section, value) for value in (None, {}, 1, "x", [], _MISSING)]
    for data in cases:
        from_schema, from_models = _verdicts(data)
        assert bool(from_schema) == bool(from_models), (data, from_schema, from_models)


def test_generated_configs_cover_both_verdicts() -> None:
    """The generator is useful only if it produces valid and invalid configs alike."""
    if not VERDICTS:
        pytest.skip("run together with test_generated_configs_get_the_same_verdict")
    assert VERDICTS["valid"] >= 20 and VERDICTS["invalid"] >= 20, VERDICTS


def test_generated_configs_hold_every_twist() -> None:
    """The generator writes the values editors and the CLI used to disagree on."""
    if not TWISTS:
        pytest.skip("run together with test_generated_configs_get_the_same_verdict")
    assert all(TWISTS[twist] >= 5 for twist in TWIST_KINDS), TWISTS


def test_validate_only_cases_name_the_rules_the_schema_cannot_express() -> None:
    """`disagreement` lets through exactly the rules the `validate_only` cases pin."""
    named = set().union(*(_expected_types(path) for path in VALIDATE_ONLY))
    assert {"int_type", "finite_number"} <= named


@pytest.mark.parametrize("path", VALID + SHARED_POSITIVE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_valid_files_pass_both(path: Path) -> None:
    data = load_config_file(path)
    assert _verdicts(data) == ([], [])


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_files_fail_both(path: Path) -> None:
    data = load_config_file(path)
    assert expressible(data)
    from_schema, from_models = _verdicts(data)
    assert from_schema, "the schema accepts it"
    assert from_models, "the models accept it"


@pytest.mark.parametrize("path", VALIDATE_ONLY, ids=lambda p: p.name)
def test_validate_only_rules_pass_the_schema_but_not_gkd_validate(path: Path) -> None:
    assert schema_errors(load_config_file(path)) == []
    report = validate_file(path, environ={})
    expected = _expected_types(path)
    found = {d.type for d in [*report.errors, *report.warnings]}
    assert expected <= found, f"expected {expected}, gkd validate found {found}"


def test_case_folders_are_not_empty() -> None:
    assert len(VALID) >= 3 and len(INVALID) >= 10 and len(VALIDATE_ONLY) >= 5


_MISSING = object()
TWISTS: Counter[str] = Counter()
TWIST_KINDS = ("trailing newline", "whole float", "non-finite number")


def _twists(data: object) -> set[str]:
    """Which of `TWIST_KINDS` appear anywhere in `data`."""
    found: set[str] = set()
    if isinstance(data, dict):
        found = found.union(*(_twists(value) for value in data.values()))
    elif isinstance(data, list):
        found = found.union(*(_twists(item) for item in data))
    elif isinstance(data, str) and data.endswith("\n"):
        found.add("trailing newline")
    elif isinstance(data, float) and not math.isfinite(data):
        found.add("non-finite number")
    elif isinstance(data, float) and data.is_integer():
        found.add("whole float")
    return found


def _minimal_with(path: tuple[str, ...], value: Any) -> Any:
    """The minimal valid config with the key at `path` set to `value` (or removed)."""
    data: Any = copy.deepcopy(load_config_file(CASES / "agree" / "valid" / "minimal.yaml"))
    node = data
    for depth, key in enumerate(path[:-1]):
        seed = SECTION_SEEDS.get(path[: depth + 1], {})
        if not isinstance(node.get(key), dict):
            node[key] = copy.deepcopy(seed)
        node = node[key]
    if value is _MISSING:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return data


def _expected_types(path: Path) -> set[str]:
    """The `# expect-type: NAME` lines of a case file."""
    prefix = "# expect-type:"
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line[len(prefix) :].strip() for line in lines if line.startswith(prefix)}
