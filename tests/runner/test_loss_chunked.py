"""Parity of the chunked generalized JSD loss with TRL's own `generalized_jsd_loss`.

TRL's loss is imported from TRL, not copied. Logits are small (vocab 97) and the chunk
size is forced to a few rows so that every test crosses chunk boundaries.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

torch = pytest.importorskip("torch")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
GKDTrainer = pytest.importorskip("trl.experimental.gkd").GKDTrainer

from gkd_schema.runner.loss.jsd_chunked import chunked_generalized_jsd_loss  # noqa: E402

VOCAB = 97
BATCH, SEQ = 3, 5
# 4 rows per chunk: the 15 rows (11 unmasked) span three chunks.
CHUNK = 4 * VOCAB * 4
BETAS = [0.0, 0.3, 0.5, 1.0]
# (reduction, num_items_in_batch): every normalisation TRL has; `num_items_in_batch`
# wins over `reduction`, as an int or a tensor.
NORMALISATIONS = [
    ("batchmean", None),
    ("sum", None),
    ("mean", None),
    ("batchmean", 7),
    ("sum", torch.tensor(23)),
]


def make_logits(seed: int, dtype: Any = torch.float32) -> tuple[Any, Any, Any]:
    """Student logits (leaf, requires grad), teacher logits, labels with masked rows."""
    gen = torch.Generator().manual_seed(seed)
    student = (2 * torch.randn(BATCH, SEQ, VOCAB, generator=gen)).to(dtype).requires_grad_()
    teacher = (2 * torch.randn(BATCH, SEQ, VOCAB, generator=gen)).to(dtype)
    labels = torch.randint(0, VOCAB, (BATCH, SEQ), generator=gen)
    labels[0, :3] = -100  # a prompt
    labels[2, -1] = -100  # padding
    return student, teacher, labels


def loss_and_grad(fn: Any, student: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """The loss and d(1.7 * loss)/d(student): a non-unit grad_output is part of the contract."""
    loss = fn(student, *args, **kwargs)
    (grad,) = torch.autograd.grad(1.7 * loss, student)
    return loss.detach(), grad


def assert_grad_close(actual: Any, expected: Any, rtol: float) -> None:
    """Element-wise within `rtol`, plus `rtol` of the largest entry for tiny entries."""
    atol = rtol * float(expected.abs().max())
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize(("reduction", "num_items"), NORMALISATIONS)
def test_matches_trl_in_float32(beta: float, reduction: str, num_items: Any) -> None:
    student, teacher, labels = make_logits(seed=int(beta * 10))
    kwargs = {"beta": beta, "temperature": 0.7, "reduction": reduction, "num_items_in_batch": num_items}
    ref_loss, ref_grad = loss_and_grad(GKDTrainer.generalized_jsd_loss, student, teacher, labels, **kwargs)
    loss, grad = loss_and_grad(chunked_generalized_jsd_loss, student, teacher, labels, chunk_bytes=CHUNK, **kwargs)
    assert loss.dtype == ref_loss.dtype == torch.float32
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=0)
    assert_grad_close(grad, ref_grad, rtol=1e-5)


@pytest.mark.parametrize("beta", BETAS)
def test_matches_trl_in_float64_to_rounding(beta: float) -> None:
    """In float64 both compute the same formula: agreement to 1e-12 checks the algebra."""
    student, teacher, labels = make_logits(seed=3, dtype=torch.float64)
    kwargs = {"beta": beta, "temperature": 1.3, "num_items_in_batch": 9}
    ref_loss, ref_grad = loss_and_grad(GKDTrainer.generalized_jsd_loss, student, teacher, labels, **kwargs)
    loss, grad = loss_and_grad(chunked_generalized_jsd_loss, student, teacher, labels, chunk_bytes=CHUNK * 2, **kwargs)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-12, atol=0)
    assert_grad_close(grad, ref_grad, rtol=1e-12)


@pytest.mark.parametrize("beta", BETAS)
def test_bfloat16_is_within_documented_tolerance(beta: float) -> None:
    """bf16 logits: computed in float32, so within bf16 rounding of the exact value.

    The documented tolerances (docs/loss.md): against a float64 evaluation of the same
    bf16 logits, the loss within 1e-2 relative and the gradient within 1e-2 of its norm;
    against TRL's own bf16 loss (which does its arithmetic in bf16), the loss within 5e-2
    relative and the gradient within 1e-1 of its norm.
    """
    student, teacher, labels = make_logits(seed=5, dtype=torch.bfloat16)
    exact_student = student.detach().double().requires_grad_()
    kwargs = {"beta": beta, "temperature": 0.9}
    exact_loss, exact_grad = loss_and_grad(
        GKDTrainer.generalized_jsd_loss, exact_student, teacher.double(), labels, **kwargs
    )
    trl_loss, trl_grad = loss_and_grad(GKDTrainer.generalized_jsd_loss, student, teacher, labels, **kwargs)
    loss, grad = loss_and_grad(chunked_generalized_jsd_loss, student, teacher, labels, chunk_bytes=CHUNK, **kwargs)
    assert loss.dtype == grad.dtype == torch.bfloat16

    def rel(a: Any, b: Any) -> float:
        return float((a.double() - b).norm() / b.norm())

    assert rel(loss, exact_loss) < 1e-2
    assert rel(grad, exact_grad) < 1e-2
    assert rel(loss, trl_loss.double()) < 5e-2
    assert rel(grad, trl_grad.double()) < 1e-1


def test_sliced_view_no_labels_and_2d_inputs_match_trl() -> None:
    student, teacher, _ = make_logits(seed=7)
    # A non-contiguous view, as TRL's `logits[:, :-1, :]`; without labels `batchmean`
    # divides by the first dimension (TRL's quirk), not by the number of tokens.
    for s_view, t_view in [
        (student[:, :-1, :], teacher[:, :-1, :]),
        (student.reshape(-1, VOCAB), teacher.reshape(-1, VOCAB)),
    ]:
        ref = GKDTrainer.generalized_jsd_loss(s_view, t_view, beta=0.5)
        ours = chunked_generalized_jsd_loss(s_view, t_view, beta=0.5, chunk_bytes=CHUNK)
        (ref_grad,) = torch.autograd.grad(ref, student)
        (grad,) = torch.autograd.grad(ours, student)
        torch.testing.assert_close(ours, ref, rtol=1e-5, atol=0)
        assert_grad_close(grad, ref_grad, rtol=1e-5)


def test_chunk_size_does_not_change_the_result() -> None:
    student, teacher, labels = make_logits(seed=11)
    results = [
        loss_and_grad(chunked_generalized_jsd_loss, student, teacher, labels, beta=0.5, chunk_bytes=size)
        for size in (1, VOCAB * 4 * 3, 10**9)  # one row, three rows, everything at once
    ]
    for loss, grad in results[1:]:
        torch.testing.assert_close(loss, results[0][0], rtol=1e-6, atol=0)
        assert_grad_close(grad, results[0][1], rtol=1e-6)


def test_fully_masked_batch_gives_zero_loss_and_zero_grad_like_trl() -> None:
    student, teacher, labels = make_logits(seed=13)
    labels[:] = -100
    ref_loss, ref_grad = loss_and_grad(GKDTrainer.generalized_jsd_loss, student, teacher, labels)
    loss, grad = loss_and_grad(chunked_generalized_jsd_loss, student, teacher, labels)
    assert float(ref_loss) == float(loss) == 0.0
    assert not ref_grad.any() and not grad.any()


def test_without_grad_it_only_computes_the_loss() -> None:
    student, teacher, labels = make_logits(seed=17)
    with torch.no_grad():
        loss = chunked_generalized_jsd_loss(student, teacher, labels, beta=0.3)
        ref = GKDTrainer.generalized_jsd_loss(student, teacher, labels, beta=0.3)
    assert not loss.requires_grad
    torch.testing.assert_close(loss, ref, rtol=1e-5, atol=0)


def test_second_backward_is_refused() -> None:
    student, teacher, labels = make_logits(seed=19)
    loss = chunked_generalized_jsd_loss(student, teacher, labels)
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="twice"):
        loss.backward()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"reduction": "none"}, "reduction must be one of"),
        ({"beta": 1.5}, "beta must be in"),
        ({"temperature": 0.0}, "temperature must be"),
    ],
)
def test_rejects_arguments_it_cannot_honour(kwargs: dict[str, Any], match: str) -> None:
    student, teacher, labels = make_logits(seed=23)
    with pytest.raises(ValueError, match=match):
        chunked_generalized_jsd_loss(student, teacher, labels, **kwargs)


def test_rejects_a_teacher_that_requires_grad_and_mismatched_shapes() -> None:
    student, teacher, labels = make_logits(seed=29)
    with pytest.raises(ValueError, match="teacher"):
        chunked_generalized_jsd_loss(student, teacher.requires_grad_(), labels)
    with pytest.raises(ValueError, match="differ in shape"):
        chunked_generalized_jsd_loss(student, teacher.detach()[:, :-1], labels)
    with pytest.raises(ValueError, match="labels have shape"):
        chunked_generalized_jsd_loss(student, teacher.detach(), labels[:, :-1])
