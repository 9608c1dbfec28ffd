"""Random input never gets anything but a clean report: no exception escapes."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gkd_schema.config.validation import FileReport, validate_data, validate_file

KEYS = ["model", "gkd", "data", "training", "peft", "name_or_path", "teacher_model_name_or_path",
        "temperature", "lmbda", "beta", "max_new_tokens", "train", "path", "output_dir",
        "lamda", "seq_kd", "eval", "report_to", "resume", "<<", "-", ":", "&a", "*a"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
    st.sampled_from(["yes", "1e-5", ".nan", "~", "auto", "./x", "a/b", "x.jsonl", ""]),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), children, max_size=5),
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_any_data_gives_a_report(data: object) -> None:
    report = validate_data(data, FileReport(path="x.yaml"))
    assert report.valid == (report.config is not None)
    for d in report.errors:
        assert d.message and d.type


YAMLISH = st.text(
    alphabet=st.sampled_from(list("abgkdmlt: -[]{}&*!|>'\"#\n\t.,0123456789e%@`?")),
    max_size=120,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=YAMLISH)
def test_any_text_gives_a_report(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    report = validate_file(path, environ={})
    assert report.valid == (report.config is not None)
    assert all(d.line is None or d.line >= 1 for d in report.errors)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=80))
def test_any_bytes_give_a_report(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(raw)
    report = validate_file(path, environ={})
    assert report.valid == (report.config is not None)
