"""The top-K loss: the full loss at K = vocabulary, TRL's server loss at K < vocabulary."""

from __future__ import annotations

import math
import os
from typing import Any

import pytest

torch = pytest.importorskip("torch")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
server = pytest.importorskip("trl.experimental.server_distillation.server_distillation_trainer")

from torch.nn import functional as F  # noqa: E402

from gkd_schema.runner.loss.jsd_chunked import chunked_generalized_jsd_loss  # noqa: E402
from gkd_schema.runner.loss.jsd_fused import fused_linear_generalized_jsd_loss  # noqa: E402
from gkd_schema.runner.loss.jsd_plan import plan_rows  # noqa: E402
from gkd_schema.runner.loss.jsd_topk import fused_linear_topk_jsd_loss, topk_generalized_jsd_loss  # noqa: E402
from gkd_schema.runner.loss.topk_teacher import (  # noqa: E402
    TeacherTopK,
    teacher_top_k,
    teacher_top_k_from_hidden,
    teacher_top_k_from_logits,
)

VOCAB, HIDDEN, TEACHER_HIDDEN = 37, 8, 6
BATCH, SEQ = 2, 6
CHUNK = 3 * VOCAB * 4  # three rows per chunk: every test crosses chunk boundaries
BETAS = (0.0, 0.3, 0.5, 1.0)


def make_logits(seed: int, dtype: Any = torch.float64) -> tuple[Any, Any, Any]:
    """Student logits (requiring grad), teacher logits and labels with masked rows."""
    gen = torch.Generator().manual_seed(seed)
    student = torch.randn(BATCH, SEQ, VOCAB, generator=gen).to(dtype).requires_grad_()
    teacher = (2 * torch.randn(BATCH, SEQ, VOCAB, generator=gen)).to(dtype)
    labels = torch.randint(0, VOCAB, (BATCH, SEQ), generator=gen)
    labels[0, :2] = -100
    labels[1, -1] = -100
    return student, teacher, labels


def grad_of(loss: Any, *leaves: Any) -> tuple[Any, ...]:
    return tuple(torch.autograd.grad(loss, leaves))


def assert_close(actual: Any, expected: Any, tol: float) -> None:
    torch.testing.assert_close(actual, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("tail", [True, False])
@pytest.mark.parametrize("beta", BETAS)
def test_k_equal_to_the_vocabulary_is_the_full_loss(beta: float, tail: bool) -> None:
    student, teacher_logits, labels = make_logits(0)
    full = chunked_generalized_jsd_loss(student, teacher_logits, labels, beta=beta, num_items_in_batch=7)
    teacher = teacher_top_k_from_logits(teacher_logits, labels, VOCAB)
    topk = topk_generalized_jsd_loss(
        student, teacher, labels, tail=tail, beta=beta, num_items_in_batch=7, chunk_bytes=CHUNK
    )
    assert_close(topk, full, 1e-12)
    assert_close(grad_of(topk, student)[0], grad_of(full, student)[0], 1e-12)


@pytest.mark.parametrize("beta", BETAS)
def test_fused_top_k_at_the_full_vocabulary_is_the_fused_loss(beta: float) -> None:
    gen = torch.Generator().manual_seed(1)
    hidden = torch.randn(BATCH, SEQ, HIDDEN, generator=gen, dtype=torch.float64).requires_grad_()
    weight = (0.5 * torch.randn(VOCAB, HIDDEN, generator=gen, dtype=torch.float64)).requires_grad_()
    bias = torch.randn(VOCAB, generator=gen, dtype=torch.float64).requires_grad_()
    teacher_hidden = torch.randn(BATCH, SEQ, TEACHER_HIDDEN, generator=gen, dtype=torch.float64)
    teacher_weight = torch.randn(VOCAB, TEACHER_HIDDEN, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, VOCAB, (BATCH, SEQ), generator=gen)
    labels[1, :3] = -100
    full = fused_linear_generalized_jsd_loss(
        hidden, weight, teacher_hidden, teacher_weight, labels, student_bias=bias, beta=beta
    )
    teacher = teacher_top_k_from_hidden(teacher_hidden, teacher_weight, None, labels, VOCAB, chunk_bytes=CHUNK)
    topk = fused_linear_topk_jsd_loss(
        hidden, weight, teacher, labels, student_bias=bias, beta=beta, chunk_bytes=CHUNK
    )
    assert_close(topk, full, 1e-12)
    for got, want in zip(grad_of(topk, hidden, weight, bias), grad_of(full, hidden, weight, bias), strict=True):
        assert_close(got, want, 1e-12)


def trl_server_loss(student: Any, teacher: TeacherTopK, labels: Any, *, beta: float, tail: bool) -> Any:
    """TRL's `ServerDistillationTrainer` loss on the same top-K inputs, step by step as it computes it."""
    student_log_probs = F.log_softmax(student, dim=-1)
    valid = teacher.logprobs > -math.inf
    neg_inf = torch.full((), -math.inf, dtype=student.dtype)
    student_k = torch.where(valid, student_log_probs.gather(-1, teacher.token_ids), neg_inf)
    teacher_k = torch.where(valid, teacher.logprobs, neg_inf)
    if tail:
        student_b, support = server._add_tail_bucket(student_k, valid)
        teacher_b, _ = server._add_tail_bucket(teacher_k, valid)
    else:
        support = valid
        student_b = student_k - torch.logsumexp(student_k, dim=-1, keepdim=True)
        teacher_b = teacher_k - torch.logsumexp(teacher_k, dim=-1, keepdim=True)
    jsd = server._jsd_divergence(student_b, teacher_b, beta=beta, support_mask=support).sum(dim=-1)
    return server.ServerDistillationTrainer._reduce_divergence_loss(jsd, completion_mask=labels != -100)


@pytest.mark.parametrize("tail", [True, False])
@pytest.mark.parametrize("k", [1, 5])
def test_forward_kl_matches_trls_server_distillation_loss(k: int, tail: bool) -> None:
    student, teacher_logits, labels = make_logits(2)
    found = teacher_top_k_from_logits(teacher_logits, labels, k)
    sent = TeacherTopK(found.token_ids, found.logprobs)  # what a server sends: no exact tail
    ours = topk_generalized_jsd_loss(student, sent, labels, tail=tail, beta=0.0, chunk_bytes=CHUNK)
    theirs = trl_server_loss(student, sent, labels, beta=0.0, tail=tail)
    assert_close(ours, theirs, 1e-12)
    assert_close(grad_of(ours, student)[0], grad_of(theirs, student)[0], 1e-12)


@pytest.mark.parametrize("beta", [0.3, 1.0])
def test_other_betas_follow_the_same_bucket_definition(beta: float) -> None:
    # TRL's server trainer only takes K > 1 at beta 0; its divergence function on the same
    # buckets is the reference for the other betas.
    student, teacher_logits, labels = make_logits(3)
    found = teacher_top_k_from_logits(teacher_logits, labels, 4)
    sent = TeacherTopK(found.token_ids, found.logprobs)
    ours = topk_generalized_jsd_loss(student, sent, labels, beta=beta, chunk_bytes=CHUNK)
    theirs = trl_server_loss(student, sent, labels, beta=beta, tail=True)
    assert_close(ours, theirs, 1e-12)
    assert_close(grad_of(ours, student)[0], grad_of(theirs, student)[0], 1e-12)


@pytest.mark.parametrize("tail", [True, False])
@pytest.mark.parametrize("beta", BETAS)
def test_positions_with_fewer_than_k_entries(beta: float, tail: bool) -> None:
    student, teacher_logits, labels = make_logits(4)
    found = teacher_top_k_from_logits(teacher_logits, labels, 5)
    logprobs = found.logprobs.clone()
    logprobs[0, 3, 2:] = -math.inf  # two entries at one position
    logprobs[1, 0, :] = -math.inf  # none at another: nothing to distil there
    ids = found.token_ids.clone()
    ids[0, 3, 2:] = 0  # what absent entries point at does not matter
    sent = TeacherTopK(ids, logprobs)
    ours = topk_generalized_jsd_loss(student, sent, labels, tail=tail, beta=beta, chunk_bytes=CHUNK)
    theirs = trl_server_loss(student, sent, labels, beta=beta, tail=tail)
    assert_close(ours, theirs, 1e-12)
    (grad,) = grad_of(ours, student)
    assert torch.isfinite(grad).all()
    assert_close(grad, grad_of(theirs, student)[0], 1e-12)


def test_masked_positions_get_no_gradient_and_no_teacher_entries() -> None:
    student, teacher_logits, labels = make_logits(5)
    teacher = teacher_top_k_from_logits(teacher_logits, labels, 3)
    masked = labels == -100
    assert (teacher.logprobs[masked] == -math.inf).all()
    (grad,) = grad_of(topk_generalized_jsd_loss(student, teacher, labels, beta=0.5), student)
    assert (grad[masked] == 0).all() and (grad[~masked] != 0).any()


def test_the_teacher_top_k_and_its_exact_tail() -> None:
    _, teacher_logits, labels = make_logits(6)
    teacher = teacher_top_k_from_logits(teacher_logits, labels, 4, temperature=0.7)
    log_p = F.log_softmax(teacher_logits / 0.7, dim=-1)
    want_values, want_ids = log_p.topk(4, dim=-1)
    keep = labels != -100
    assert torch.equal(teacher.token_ids[keep], want_ids[keep])
    assert_close(teacher.logprobs[keep], want_values[keep], 1e-12)
    assert teacher.tail_logprob is not None
    want_tail = torch.log1p(-want_values.exp().sum(dim=-1))
    assert_close(teacher.tail_logprob[keep], want_tail[keep], 1e-12)


def test_the_teacher_side_holds_one_chunk_of_logits_at_a_time() -> None:
    gen = torch.Generator().manual_seed(7)
    hidden = torch.randn(BATCH * SEQ, TEACHER_HIDDEN, generator=gen)
    weight = torch.randn(VOCAB, TEACHER_HIDDEN, generator=gen)
    shape = torch.Size([BATCH * SEQ])
    plan = plan_rows(shape, VOCAB, None, hidden.device, reduction="sum", num_items_in_batch=None, chunk_bytes=CHUNK)
    seen: list[int] = []

    def fill(rows: Any, out: Any) -> Any:
        seen.append(rows.numel())
        return torch.matmul(hidden.index_select(0, rows), weight.t(), out=out)

    found = teacher_top_k(fill, torch.float32, plan, 3, VOCAB)
    assert max(seen) == 3 and sum(seen) == BATCH * SEQ
    assert found.token_ids.shape == (BATCH * SEQ, 3) and found.token_ids.dtype == torch.int64


def test_float32_is_close_to_float64() -> None:
    student, teacher_logits, labels = make_logits(8)
    teacher = teacher_top_k_from_logits(teacher_logits, labels, 6)
    exact = topk_generalized_jsd_loss(student, teacher, labels, beta=0.5)
    student32 = student.detach().float().requires_grad_()
    teacher32 = TeacherTopK(teacher.token_ids, teacher.logprobs.float(), teacher.tail_logprob.float())  # type: ignore[union-attr]
    approx = topk_generalized_jsd_loss(student32, teacher32, labels, beta=0.5)
    assert approx.dtype == torch.float32
    assert_close(approx.double(), exact.detach(), 1e-5)
    assert_close(grad_of(approx, student32)[0].double(), grad_of(exact, student)[0], 1e-5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"token_ids": lambda t: t.token_ids.clamp(max=VOCAB - 1) + 1}, "must lie in"),
        ({"token_ids": lambda t: t.token_ids[:, :-1]}, "must both be"),
        ({"logprobs": lambda t: t.logprobs.float().requires_grad_()}, "require grad"),
    ],
)
def test_bad_teacher_tensors_are_refused(change: dict[str, Any], message: str) -> None:
    student, teacher_logits, labels = make_logits(9)
    found = teacher_top_k_from_logits(teacher_logits.float(), labels, VOCAB)
    fields = {"token_ids": found.token_ids, "logprobs": found.logprobs, "tail_logprob": None}
    fields.update({key: make(found) for key, make in change.items()})
    with pytest.raises(ValueError, match=message):
        topk_generalized_jsd_loss(student.float(), TeacherTopK(**fields), labels)


def test_top_k_outside_the_vocabulary_and_the_mean_reduction_are_refused() -> None:
    student, teacher_logits, labels = make_logits(10)
    with pytest.raises(ValueError, match="between 1 and the vocabulary size"):
        teacher_top_k_from_logits(teacher_logits, labels, VOCAB + 1)
    with pytest.raises(ValueError, match="between 1 and the vocabulary size"):
        teacher_top_k_from_logits(teacher_logits, labels, 0)
    teacher = teacher_top_k_from_logits(teacher_logits, labels, 2)
    with pytest.raises(ValueError, match="reductions batchmean, sum"):
        topk_generalized_jsd_loss(student, teacher, labels, reduction="mean")
