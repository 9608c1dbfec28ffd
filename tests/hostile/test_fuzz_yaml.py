"""Property-based fuzzing of the loader: generated YAML with anchors, merges, tags, directives and deep nesting.

The generators say which constructs each document holds, and a test asserts that
they produce every one of them, since a fuzzer that never writes a merge key
finds no merge bug. The fast runs are in the default suite; the 10,000-example
run is marked `fuzz` (`python -m pytest -m fuzz tests/hostile/test_fuzz_yaml.py`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from gkd_schema.config.overrides import OverrideSyntaxError, env_overrides, parse_set_option
from gkd_schema.config.resolved import dump_resolved
from gkd_schema.config.validation import FileReport, validate_data
from gkd_schema.config.yaml_loader import LIMITS, LoadWork, YamlLoadError, load_document, load_yaml

CONSTRUCTS = ("anchor", "alias", "merge", "tag", "directive", "deep")
KEYS = ["model", "gkd", "data", "training", "name_or_path", "beta", "x", "y", "<<", "'<<'", "extra_args"]
SCALARS = [
    "1", "-0", "1_000", "0b101", "+0x10", "0x1F", "0o17", "0x_", "1:30", "yes", "true", "~", "", ".nan", "-.inf",
    "1e400", "9" * 30, "0x" + "f" * 40, "'q'", '"\\ud83d\\ude00"', '"\\ud83d"', '"\\x85"', "2e-5", "a b",
]
TAGGED = ["!!int abc", "!!int 5", "!!bool yes", "!!bool true", "!!null x", "!!null ~", "! 5", "!!str 5",
          "!!float 1", "!!timestamp 2026-01-01", "!local x", "!!python/name:os.system"]
DIRECTIVES = ["%YAML 1.1\n---\n", "%YAML 1.2\n---\n", "%YAML 1.3\n---\n", "%TAG !e! tag:e.com,2000:\n---\n"]


@dataclass(frozen=True)
class Doc:
    """A generated document and the constructs it holds."""

    text: str
    constructs: frozenset[str]


@st.composite
def _node(draw: st.DrawFn, depth: int = 0) -> tuple[str, set[str]]:
    kind = draw(st.sampled_from(["scalar", "tagged", "alias", "list", "map"] if depth < 4 else ["scalar", "alias"]))
    used: set[str] = set()
    if kind == "scalar":
        text = draw(st.sampled_from(SCALARS))
    elif kind == "tagged":
        text, used = draw(st.sampled_from(TAGGED)), {"tag"}
    elif kind == "alias":
        text, used = "*" + draw(st.sampled_from("abc")), {"alias"}
    else:
        children = draw(st.lists(_node(depth + 1), max_size=4))
        for _, child in children:
            used |= child
        if kind == "list":
            text = "[" + ", ".join(child for child, _ in children) + "]"
        else:
            keys = draw(st.lists(st.sampled_from(KEYS), min_size=len(children), max_size=len(children)))
            used |= {"merge"} if "<<" in keys else set()
            text = "{" + ", ".join(f"{key}: {child}" for key, (child, _) in zip(keys, children, strict=True)) + "}"
    if draw(st.integers(0, 3)) == 0:
        text, used = f"&{draw(st.sampled_from('abc'))} {text}", used | {"anchor"}
    return text, used


@st.composite
def documents(draw: st.DrawFn) -> Doc:
    """A YAML document: a top-level mapping of generated nodes, maybe nested deep, maybe with a directive."""
    used: set[str] = set()
    lines = []
    for key in draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=5)):
        text, found = draw(_node())
        used |= found | ({"merge"} if key == "<<" else set())
        lines.append(f"{key}: {text}")
    body = "\n".join(lines) + "\n"
    levels = draw(st.sampled_from([0, 0, 0, 10, 63, 64, 65, 300]))
    if levels:
        body = "deep: " + "[" * levels + "1" + "]" * levels + "\n" + body
        used |= {"deep"} if levels > LIMITS.max_depth else set()
    if draw(st.booleans()):
        body, used = draw(st.sampled_from(DIRECTIVES)) + body, used | {"directive"}
    return Doc(body, frozenset(used))


def _check(doc: Doc) -> None:
    for construct in doc.constructs:
        event(construct)
    work = LoadWork()
    try:
        loaded = load_document(doc.text, work=work)
    except YamlLoadError as exc:
        event(f"refused: {exc.kind}")
        assert exc.message and (exc.mark is None or exc.mark.line >= 1)
        assert all(isinstance(part, str | int) for part in exc.loc)
    else:
        validate_data(loaded.value, FileReport(path="fuzz.yaml"))
    assert work.values_built + work.values_copied <= LIMITS.max_values
    assert work.max_depth <= LIMITS.max_depth + 1


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_generated_documents_give_a_report_within_the_bounds(doc: Doc) -> None:
    _check(doc)


@pytest.mark.fuzz
@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_generated_documents_at_length(doc: Doc) -> None:
    _check(doc)


def test_the_generators_produce_every_construct() -> None:
    seen: Counter[str] = Counter()

    @settings(max_examples=200, deadline=None, database=None)
    @given(documents())
    def collect(doc: Doc) -> None:
        seen.update(doc.constructs)

    collect()
    assert {construct: seen[construct] >= 10 for construct in CONSTRUCTS} == dict.fromkeys(CONSTRUCTS, True), seen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_generated_values_through_set_and_the_environment(doc: Doc) -> None:
    for parse in (lambda raw: parse_set_option(f"gkd.beta={raw}"), lambda raw: env_overrides({"GKD_GKD__BETA": raw})):
        try:
            parse(doc.text)
        except OverrideSyntaxError as exc:
            assert str(exc)


BASE = {
    "model": {"name_or_path": "Qwen/Qwen2.5-0.5B-Instruct"},
    "gkd": {"teacher_model_name_or_path": "Qwen/Qwen2.5-1.5B-Instruct"},
    "data": {"train": {"path": "data/train.jsonl"}},
}
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
EXTRA = st.dictionaries(TEXT, st.one_of(TEXT, st.integers(-(2**63), 2**63 - 1), st.booleans(), st.none(),
                                          st.floats(allow_nan=False, allow_infinity=False)), max_size=5)


@settings(max_examples=80, deadline=None)
@given(extra=EXTRA, output_dir=TEXT.filter(str.strip), fmt=st.sampled_from(["json", "yaml"]))
@example(extra={"\x85": None, "k": "a\u2028b"}, output_dir="0", fmt="yaml")  # YAML 1.1 line breaks, once raw
@example(extra={"emoji": "\U0001f600", "c": "\x01\x7f"}, output_dir="out", fmt="json")
def test_show_output_validates_to_the_same_config(extra: dict[str, object], output_dir: str, fmt: str) -> None:
    data = json.loads(json.dumps({**BASE, "training": {"output_dir": output_dir, "extra_args": extra}}))
    first = validate_data(data, FileReport(path="a.yaml"))
    if first.config is None:
        return
    shown = dump_resolved(first.config, "json" if fmt == "json" else "yaml")
    again = validate_data(load_yaml(shown)[0], FileReport(path="b.yaml"))
    assert again.config is not None, again.errors
    assert again.config.model_dump(mode="json") == first.config.model_dump(mode="json")
