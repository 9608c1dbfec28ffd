"""Parity of the fused (hidden states + output weight) loss with full logits + TRL's loss."""

from __future__ import annotations

import os
from typing import Any

import pytest

torch = pytest.importorskip("torch")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
GKDTrainer = pytest.importorskip("trl.experimental.gkd").GKDTrainer

from torch.nn import functional as F  # noqa: E402

from gkd_schema.runner.loss.jsd_fused import fused_linear_generalized_jsd_loss  # noqa: E402

VOCAB, STUDENT_H, TEACHER_H = 101, 16, 24
BATCH, SEQ = 2, 7
CHUNK = 3 * VOCAB * 4  # three rows per chunk


def make_inputs(seed: int, dtype: Any = torch.float32, bias: bool = True) -> dict[str, Any]:
    """Hidden states, output weights (student's require grad) and labels with masks."""
    gen = torch.Generator().manual_seed(seed)

    def randn(*shape: int, scale: float = 1.0) -> Any:
        return (scale * torch.randn(*shape, generator=gen)).to(dtype)

    labels = torch.randint(0, VOCAB, (BATCH, SEQ), generator=gen)
    labels[0, :2] = -100
    return {
        "student_hidden": randn(BATCH, SEQ, STUDENT_H).requires_grad_(),
        "student_weight": randn(VOCAB, STUDENT_H, scale=0.5).requires_grad_(),
        "student_bias": randn(VOCAB).requires_grad_() if bias else None,
        "teacher_hidden": randn(BATCH, SEQ, TEACHER_H),
        "teacher_weight": randn(VOCAB, TEACHER_H, scale=0.5),
        "labels": labels,
    }


def reference(x: dict[str, Any], **kwargs: Any) -> Any:
    """Full logits for both models, then TRL's loss: what the fused loss replaces."""
    student_logits = F.linear(x["student_hidden"], x["student_weight"], x["student_bias"])
    teacher_logits = F.linear(x["teacher_hidden"], x["teacher_weight"])
    return GKDTrainer.generalized_jsd_loss(student_logits, teacher_logits, x["labels"], **kwargs)


def fused(x: dict[str, Any], **kwargs: Any) -> Any:
    """The fused loss on the same tensors."""
    return fused_linear_generalized_jsd_loss(
        x["student_hidden"],
        x["student_weight"],
        x["teacher_hidden"],
        x["teacher_weight"],
        x["labels"],
        student_bias=x["student_bias"],
        **kwargs,
    )


def leaves(x: dict[str, Any]) -> list[Any]:
    """The student tensors that receive gradients."""
    return [x[k] for k in ("student_hidden", "student_weight", "student_bias") if x[k] is not None]


@pytest.mark.parametrize("beta", [0.0, 0.3, 0.5, 1.0])
@pytest.mark.parametrize("num_items", [None, 13])
def test_matches_full_logits_and_trl_in_float32(beta: float, num_items: int | None) -> None:
    x = make_inputs(seed=int(beta * 10))
    kwargs = {"beta": beta, "temperature": 0.7, "num_items_in_batch": num_items}
    ref = reference(x, **kwargs)
    ref_grads = torch.autograd.grad(2.5 * ref, leaves(x))
    ours = fused(x, chunk_bytes=CHUNK, **kwargs)
    grads = torch.autograd.grad(2.5 * ours, leaves(x))
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=0)
    for grad, ref_grad in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(grad, ref_grad, rtol=1e-5, atol=1e-5 * float(ref_grad.abs().max()))


def test_bfloat16_weights_are_close_to_the_exact_value() -> None:
    """bf16: within the tolerance documented in docs/loss.md (1e-2 of an exact evaluation)."""
    x = make_inputs(seed=3, dtype=torch.bfloat16, bias=False)
    exact = {k: (v.detach().double().requires_grad_(v.requires_grad) if v is not None else None) for k, v in x.items()}
    exact["labels"] = x["labels"]
    ref = reference(exact, beta=0.5)
    ref_grads = torch.autograd.grad(ref, leaves(exact))
    ours = fused(x, beta=0.5, chunk_bytes=CHUNK)
    grads = torch.autograd.grad(ours, leaves(x))
    assert ours.dtype == torch.bfloat16
    assert abs(float(ours.detach()) - float(ref.detach())) / float(ref.detach()) < 1e-2
    for grad, ref_grad in zip(grads, ref_grads, strict=True):
        assert grad.dtype == torch.bfloat16
        assert float((grad.double() - ref_grad).norm() / ref_grad.norm()) < 1e-2


def test_frozen_output_layer_gets_no_gradient() -> None:
    """With the output layer frozen (as under LoRA) only the hidden states get a gradient."""
    x = make_inputs(seed=5, bias=False)
    x["student_weight"].requires_grad_(False)
    ref_grad = torch.autograd.grad(reference(x, beta=0.5), x["student_hidden"])[0]
    fused(x, beta=0.5, chunk_bytes=CHUNK).backward()
    assert x["student_weight"].grad is None
    torch.testing.assert_close(x["student_hidden"].grad, ref_grad, rtol=1e-5, atol=1e-7)


def test_bfloat16_teacher_with_float32_student() -> None:
    x = make_inputs(seed=7, bias=False)
    x["teacher_weight"] = x["teacher_weight"].bfloat16()
    x["teacher_hidden"] = x["teacher_hidden"].bfloat16()
    student_logits = F.linear(x["student_hidden"], x["student_weight"])
    teacher_logits = F.linear(x["teacher_hidden"], x["teacher_weight"]).float()
    ref = GKDTrainer.generalized_jsd_loss(student_logits, teacher_logits, x["labels"], beta=0.5)
    torch.testing.assert_close(fused(x, beta=0.5, chunk_bytes=CHUNK), ref, rtol=1e-5, atol=0)


def test_rejects_mismatched_vocabularies_and_a_teacher_requiring_grad() -> None:
    x = make_inputs(seed=11)
    with pytest.raises(ValueError, match="vocabulary"):
        fused({**x, "teacher_weight": x["teacher_weight"][:-1]})
    with pytest.raises(ValueError, match="does not project"):
        fused({**x, "teacher_weight": x["teacher_weight"][:, :-1]})
    with pytest.raises(ValueError, match="teacher"):
        fused({**x, "teacher_weight": x["teacher_weight"].requires_grad_()})
