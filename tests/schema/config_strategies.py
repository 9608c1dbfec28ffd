"""Hypothesis strategies for near-valid gkd configs, derived from the committed schema.

Each property gets "plausible" values (its default, enum members, examples, values
at and around its bounds) and, in the `free` mode, junk of every JSON type.
Values are also twisted the ways an editor and `gkd validate` used to disagree on:
a trailing newline on a string (Python's `$` matches before it), an integer written
as a whole float (`4.0`, an integer to JSON Schema) and NaN or an infinity where a
number goes (they pass every draft-7 bound). The last two are rules only `gkd
validate` checks; `schema_oracles.disagreement` allows exactly those.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from hypothesis import strategies as st
from jsonschema import Draft7Validator

from gkd_schema.artifacts.json_schema_walk import JsonSchema

Mode = Literal["clean", "one", "edge", "free"]

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3000),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-5, max_value=5).filter(
        lambda x: not x.is_integer()
    ),
    st.text(max_size=8),
    st.sampled_from(
        [
            "",
            " ",
            "Qwen/Qwen2.5-0.5B-Instruct",
            "./checkpoints/x",
            "~",
            "a--b",
            "a/b/c",
            "x y",
            "Qwen/x\n",
            "https://huggingface.co/Qwen/x",
            "data/x.jsonl",
            "x.txt",
            "steps",
            "best",
            "auto",
            "never",
        ]
    ),
    st.sampled_from([[], ["none"], ["wandb", "foo"], [1], {}, {"dtype": "auto"}]),
    st.sampled_from([{"torch_dtype": "float16"}, {"dtype": "fp8"}, {"trust_remote_code": True}]),
)
# Fixed junk for the exhaustive single-key tests: one of every JSON type and then some.
JUNK_SAMPLES: tuple[Any, ...] = (
    None, True, False, 0, 1, -1, 7, 0.5, -0.1, 1.5, "", " ", "x", "Qwen/x", "./x", "a--b",
    "Qwen/x\n", "x.jsonl", [], ["none"], ["x"], [1], {}, {"dtype": "auto"}, {"k": 1.5},
)
TYPO_KEYS = ("lamda", "temprature", "teacher", "outputdir", "name_or_pth", "extra")


def _is_integer_only(prop: JsonSchema) -> bool:
    kinds = prop.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    return "integer" in kinds and "number" not in kinds


def plausible_values(prop: JsonSchema) -> list[Any]:
    """Values a person would plausibly write for `prop`, valid or just out of range."""
    values: list[Any] = []
    if "default" in prop:
        values.append(prop["default"])
    values.extend(prop.get("enum", []))
    values.extend(prop.get("examples", []))
    for key in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        if key in prop:
            bound = prop[key]
            values.extend([bound, bound - 1, bound + 1, bound + 0.5, bound - 0.5])
    for branch in prop.get("anyOf", []):
        if isinstance(branch, dict):
            values.extend(plausible_values(branch))
    for key, sub in (prop.get("properties") or {}).items():
        # A free mapping with known keys (teacher_model_init_kwargs): each known key
        # with its plausible values, and the refused ones (`false`) with anything.
        subvalues = ["x"] if sub is False else [*plausible_values(sub), "x", 1]
        values.extend({key: value} for value in subvalues)
    if _is_integer_only(prop):
        # An integral float where an integer is expected: JSON cannot tell 128.0 from 128.
        values = [int(v) if isinstance(v, float) and v.is_integer() else v for v in values]
        values = [v for v in values if not isinstance(v, float)]
    return values


def twisted_values(values: list[Any]) -> list[Any]:
    """`values` as they might be mistyped: a trailing newline, an int as a float, NaN."""
    twisted: list[Any] = []
    for value in values:
        if isinstance(value, str):
            twisted.extend([value + "\n", value + "\r\n"])
        elif isinstance(value, int) and not isinstance(value, bool):
            twisted.append(float(value))
        elif isinstance(value, float):
            twisted.extend([math.nan, math.inf, -math.inf])
    return twisted


def leaf_properties(schema: JsonSchema) -> list[tuple[tuple[str, ...], JsonSchema]]:
    """Every scalar-or-list property of the config with its key path, sections excluded."""
    definitions = schema.get("definitions", {})
    found: list[tuple[tuple[str, ...], JsonSchema]] = []
    queue: list[tuple[tuple[str, ...], JsonSchema]] = [((), schema)]
    while queue:
        prefix, node = queue.pop(0)
        for name, prop in node.get("properties", {}).items():
            section, _nullable = _target(prop, definitions)
            if section is None:
                found.append(((*prefix, name), prop))
            else:
                queue.append(((*prefix, name), section))
    return found


def _target(prop: JsonSchema, definitions: dict[str, JsonSchema]) -> tuple[JsonSchema | None, bool]:
    """The section a property holds, and whether null is also allowed."""
    branches = [prop, *prop.get("allOf", []), *prop.get("anyOf", [])]
    nullable = any(isinstance(b, dict) and b.get("type") == "null" for b in prop.get("anyOf", []))
    for branch in branches:
        ref = branch.get("$ref") if isinstance(branch, dict) else None
        if isinstance(ref, str):
            return definitions[ref.rsplit("/", 1)[-1]], nullable
    return None, nullable


_VALIDATORS: dict[int, Draft7Validator] = {}


def _leaf_validator(prop: JsonSchema) -> Draft7Validator:
    """A validator for one property schema (cached: strategies draw thousands of values)."""
    if id(prop) not in _VALIDATORS:
        _VALIDATORS[id(prop)] = Draft7Validator(prop)
    return _VALIDATORS[id(prop)]


class _Budget:
    """How many deliberate mistakes one `one`-mode config may still receive."""

    def __init__(self, mistakes: int) -> None:
        self.mistakes = mistakes

    def spend(self, draw: st.DrawFn, odds: int) -> bool:
        if self.mistakes and draw(st.integers(0, odds - 1)) == 0:
            self.mistakes -= 1
            return True
        return False


def _draw_value(
    draw: st.DrawFn,
    prop: Any,
    definitions: dict[str, JsonSchema],
    mode: Mode,
    budget: _Budget,
    non_null: bool = False,
) -> Any:
    if not isinstance(prop, dict):
        return draw(JUNK)
    section, nullable = _target(prop, definitions)
    if section is not None:
        if (nullable or mode == "free") and draw(st.booleans()):
            return None
        return _draw_object(draw, section, definitions, mode, budget)
    plausible = plausible_values(prop)
    twisted = twisted_values(plausible)
    acceptable = [
        v for v in plausible if _leaf_validator(prop).is_valid(v) and not (non_null and v is None)
    ]
    if mode == "one":
        if budget.spend(draw, 12):
            return draw(st.one_of(st.sampled_from(plausible or [None]), st.sampled_from(twisted or [None]), JUNK))
        mode = "clean"
    if mode == "clean":
        # Values the property accepts on its own: what stays is cross-key rules.
        return draw(st.sampled_from(acceptable)) if acceptable else draw(JUNK)
    good = st.sampled_from(plausible) if plausible else JUNK
    odd = st.sampled_from(twisted) if twisted else JUNK
    return draw(st.one_of(good, good, good, odd, JUNK) if mode == "free" else st.one_of(good, good, odd))


def _draw_object(
    draw: st.DrawFn, node: JsonSchema, definitions: dict[str, JsonSchema], mode: Mode, budget: _Budget
) -> dict[str, Any]:
    required = set(node.get("required", []))
    sparse = mode in ("clean", "one")
    optional_odds = [True] + [False] * (3 if sparse else 2)
    required_odds = [True] * 9 + [False] if not sparse else [True]
    force: set[str] = set()
    forbid: set[str] = set()
    if sparse and node.get("oneOf"):
        # Pick one `oneOf` alternative (path or name) and write only its keys.
        branch = draw(st.sampled_from(node["oneOf"]))
        force = set(branch.get("required", []))
        forbid = {k for b in node["oneOf"] for k in b.get("required", [])} - force
    out: dict[str, Any] = {}
    for name, prop in node.get("properties", {}).items():
        if name in forbid and not (mode == "one" and budget.spend(draw, 20)):
            continue
        if name in required and mode == "one" and budget.spend(draw, 25):
            continue  # a missing required key is the one mistake
        odds = required_odds if name in required else optional_odds
        if name in force or draw(st.sampled_from(odds)):
            out[name] = _draw_value(draw, prop, definitions, mode, budget, name in force)
    if mode == "free" and draw(st.integers(0, 7)) == 0:
        out[draw(st.sampled_from(TYPO_KEYS))] = draw(JUNK)
    if mode == "one" and budget.spend(draw, 10):
        out[draw(st.sampled_from(TYPO_KEYS))] = draw(JUNK)
    return out


def configs(schema: JsonSchema) -> st.SearchStrategy[Any]:
    """Near-valid whole-run configs in four modes: `clean` (every value acceptable on
    its own), `one` (clean but for at most one mistake), `edge` (values at and beyond
    the bounds) and `free` (junk as well)."""
    definitions = schema.get("definitions", {})

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        mode: Mode = draw(st.sampled_from(["clean", "one", "one", "one", "edge", "free"]))
        return _draw_object(draw, schema, definitions, mode, _Budget(1 if mode == "one" else 0))

    return build()
