"""`GkdParams` against the reference GKD semantics, edge value by edge value."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from gkd_schema import GkdParams

REFERENCE_DEFAULTS = {
    "teacher_model_name_or_path": None,
    "teacher_model_init_kwargs": {"dtype": "auto"},
    "temperature": 0.9,
    "lmbda": 0.5,
    "beta": 0.5,
    "max_new_tokens": 128,
    "disable_dropout": True,
    "seq_kd": False,
}
EDGE_FLOATS = [
    0.0, 1.0, 0.5, -0.0, 1e-12, -1e-12, 1 + 1e-12, 1.0000001, -0.1, 1.5, 2.0,
    math.nan, math.inf, -math.inf, 0, 1, -1, 2,
]
EDGE_INTS = [1, 2, 128, 10**6, 0, -1, -128]
EDGE_TEACHERS = [None, "", " ", "\t", "\n", "  \t ", "gpt2", "Qwen/Qwen2.5-1.5B-Instruct", "./ckpt", "/abs/t"]


def reference_accepts(field: str, value: Any) -> bool:
    """The reference rules from the GKD notes, written independently of the models."""
    if field == "temperature":
        return isinstance(value, int | float) and math.isfinite(value) and 0 < value <= 1
    if field in ("lmbda", "beta"):
        return isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= 1
    if field == "max_new_tokens":
        return isinstance(value, int) and not isinstance(value, bool) and value > 0
    if field == "teacher_model_name_or_path":
        return value is None or (isinstance(value, str) and value.strip() != "")
    raise AssertionError(field)


def accepts(**kwargs: Any) -> bool:
    try:
        GkdParams(**kwargs)
    except ValidationError:
        return False
    return True


def test_defaults_match_the_reference() -> None:
    assert GkdParams().model_dump() == REFERENCE_DEFAULTS


@pytest.mark.parametrize("field", ["temperature", "lmbda", "beta"])
@pytest.mark.parametrize("value", EDGE_FLOATS, ids=repr)
def test_float_knobs_accept_exactly_the_reference_range(field: str, value: float) -> None:
    assert accepts(**{field: value}) == reference_accepts(field, value)


@pytest.mark.parametrize("value", EDGE_INTS)
def test_max_new_tokens_accepts_exactly_positive_integers(value: int) -> None:
    assert accepts(max_new_tokens=value) == reference_accepts("max_new_tokens", value)


@pytest.mark.parametrize("value", EDGE_TEACHERS, ids=repr)
def test_teacher_accepts_exactly_non_blank_strings(value: str | None) -> None:
    assert accepts(teacher_model_name_or_path=value) == reference_accepts(
        "teacher_model_name_or_path", value
    )


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_float_knobs_agree_with_reference_everywhere(value: float) -> None:
    for field in ("temperature", "lmbda", "beta"):
        assert accepts(**{field: value}) == reference_accepts(field, value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_new_tokens", "128"), ("max_new_tokens", 128.0), ("max_new_tokens", True),
     ("disable_dropout", 1), ("seq_kd", "true"), ("temperature", "0.9"), ("lmbda", None)],
)
def test_no_coercion(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        GkdParams(**{field: value})
    assert [e["loc"] for e in info.value.errors()] == [(field,)]


def test_unknown_keys_are_errors() -> None:
    with pytest.raises(ValidationError) as info:
        GkdParams(lamda=0.5)  # type: ignore[call-arg]
    assert info.value.errors(include_url=False)[0]["type"] == "extra_forbidden"


def test_to_hf_trainer_kwargs_is_the_reference_output() -> None:
    params = GkdParams(teacher_model_name_or_path="t/t", temperature=0.7, lmbda=1.0, seq_kd=True)
    assert params.to_hf_trainer_kwargs() == {
        "temperature": 0.7,
        "lmbda": 1.0,
        "beta": 0.5,
        "max_new_tokens": 128,
        "disable_dropout": True,
        "seq_kd": True,
        "teacher_model_init_kwargs": {"dtype": "auto"},
    }


def test_to_hf_trainer_kwargs_adds_dtype_without_mutating() -> None:
    params = GkdParams(teacher_model_init_kwargs={"attn_implementation": "sdpa"})
    kwargs = params.to_hf_trainer_kwargs()
    assert kwargs["teacher_model_init_kwargs"] == {"attn_implementation": "sdpa", "dtype": "auto"}
    assert params.teacher_model_init_kwargs == {"attn_implementation": "sdpa"}
    kwargs["teacher_model_init_kwargs"]["dtype"] = "float16"
    assert params.to_hf_trainer_kwargs()["teacher_model_init_kwargs"]["dtype"] == "auto"


def test_explicit_dtype_is_kept() -> None:
    params = GkdParams(teacher_model_init_kwargs={"dtype": "bfloat16"})
    assert params.to_hf_trainer_kwargs()["teacher_model_init_kwargs"] == {"dtype": "bfloat16"}


@pytest.mark.parametrize(
    ("kwargs", "error_type"),
    [
        ({"torch_dtype": "bfloat16"}, "renamed_key"),
        ({"trust_remote_code": True}, "remote_code_in_kwargs"),
        ({"dtype": "fp16"}, "dtype_choice"),
        ({"rope_scaling": {"factor": math.inf}}, "finite_number"),
    ],
)
def test_teacher_init_kwargs_rules(kwargs: dict[str, Any], error_type: str) -> None:
    with pytest.raises(ValidationError) as info:
        GkdParams(teacher_model_init_kwargs=kwargs)
    errors = info.value.errors(include_url=False)
    assert [(e["loc"], e["type"]) for e in errors] == [(("teacher_model_init_kwargs",), error_type)]


@pytest.mark.parametrize(
    ("value", "error_type", "hint"),
    [
        ("https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct", "model_id_url", "`Qwen/Qwen2.5-1.5B-Instruct`"),
        ("hf.co/Qwen/Qwen2.5-1.5B", "model_id_format", "./hf.co/Qwen/Qwen2.5-1.5B"),
        ("Qwen/Qwen 2.5", "model_id_whitespace", "`Qwen/Qwen-2.5`"),
        (" Qwen/Qwen2.5-1.5B", "model_id_whitespace", "`Qwen/Qwen2.5-1.5B`"),
        ("a/b/c", "model_id_format", "`./a/b/c`"),
        ("a--b", "model_id_format", "`--`"),
        ("x" * 97, "model_id_format", "96"),
    ],
)
def test_teacher_format_errors_show_the_fix(value: str, error_type: str, hint: str) -> None:
    with pytest.raises(ValidationError) as info:
        GkdParams(teacher_model_name_or_path=value)
    (error,) = info.value.errors(include_url=False)
    assert error["type"] == error_type
    assert hint in error["msg"]
