"""The arithmetic of `gkd eval`: divergences and greedy completions on tiny local models."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from gkd_schema.runner.eval.metrics import _cut_at_eos, _token_sums

torch = pytest.importorskip("torch")

ROWS = [
    {"messages": [{"role": "user", "content": f"reverse ab{i}"}, {"role": "assistant", "content": f"{i}ba"}]}
    for i in range(5)
]


def _reference(s: Any, t: Any) -> tuple[float, float, float]:
    """Divergences from the definitions, one token at a time, in float64."""
    fwd = rev = jsd = 0.0
    for ls, lt in zip(torch.log_softmax(s.double(), -1), torch.log_softmax(t.double(), -1), strict=True):
        ps, pt = ls.exp(), lt.exp()
        m = 0.5 * ps + 0.5 * pt
        fwd += float((pt * (lt - ls)).sum())
        rev += float((ps * (ls - lt)).sum())
        jsd += float(0.5 * (pt * (lt - m.log())).sum() + 0.5 * (ps * (ls - m.log())).sum())
    return fwd, rev, jsd


def test_token_sums_match_the_definitions() -> None:
    gen = torch.Generator().manual_seed(0)
    s, t = torch.randn(7, 11, generator=gen) * 3, torch.randn(7, 11, generator=gen) * 3
    for got, want in zip(_token_sums(s, t), _reference(s, t), strict=True):
        assert got == pytest.approx(want, rel=1e-4)


def test_identical_distributions_diverge_by_nothing_and_jsd_is_bounded() -> None:
    s = torch.randn(4, 9)
    assert _token_sums(s, s) == pytest.approx((0.0, 0.0, 0.0), abs=1e-5)
    far = torch.full((1, 9), -50.0)
    far[0, 0] = 50.0
    near = torch.full((1, 9), -50.0)
    near[0, 1] = 50.0
    _, _, jsd = _token_sums(far, near)
    assert jsd == pytest.approx(math.log(2), rel=1e-3)  # disjoint supports: JSD is ln 2


def test_completions_are_cut_after_the_first_end_token() -> None:
    assert _cut_at_eos([5, 6, 1, 0, 0], [1]) == [5, 6, 1]
    assert _cut_at_eos([5, 6, 7], [1]) == [5, 6, 7]
    assert _cut_at_eos([2, 5], [1, 2]) == [2]


@pytest.mark.slow
def test_models_score_against_themselves_and_each_other(
    tiny_teacher_dir: Path, tiny_student_dir: Path
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from gkd_schema.runner.eval.scoring import evaluate_models

    tok = AutoTokenizer.from_pretrained(str(tiny_teacher_dir))
    teacher = AutoModelForCausalLM.from_pretrained(str(tiny_teacher_dir), dtype=torch.float32)
    student = AutoModelForCausalLM.from_pretrained(str(tiny_student_dir), dtype=torch.float32)
    student.train()
    result = evaluate_models({"student": student}, teacher, tok, ROWS, max_new_tokens=4, batch_size=2)
    assert student.training  # scoring restores the training mode it found
    assert tok.padding_side == "right"  # and leaves the shared tokenizer alone
    assert result.prompts == len(ROWS)
    t_row, s_row = result.models
    assert t_row.label == "teacher" and t_row.greedy_agreement == 1.0
    assert t_row.own.reverse_kl == pytest.approx(0.0, abs=1e-5)
    assert s_row.dataset is not None and s_row.dataset.tokens == sum(len(r["messages"][1]["content"]) + 1 for r in ROWS)
    for value in (s_row.own.forward_kl, s_row.own.reverse_kl, s_row.dataset.reverse_kl):
        assert value > 0.01  # two different random models disagree
    assert 0 < s_row.own.jsd <= math.log(2)
    assert 1 <= s_row.own.tokens <= 4 * len(ROWS)


@pytest.mark.slow
def test_prompt_only_rows_have_no_exact_match(tiny_teacher_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from gkd_schema.runner.eval.scoring import evaluate_models

    tok = AutoTokenizer.from_pretrained(str(tiny_teacher_dir))
    teacher = AutoModelForCausalLM.from_pretrained(str(tiny_teacher_dir), dtype=torch.float32)
    rows = [{"messages": [{"role": "user", "content": "reverse abc"}]}]
    result = evaluate_models({}, teacher, tok, rows, max_new_tokens=3)
    assert result.models[0].exact_match is None and result.models[0].dataset is None
