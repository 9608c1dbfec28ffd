"""`compute_distillation_loss` against TRL 1.16's own `GKDTrainer.compute_loss`.

TRL's method is called unbound on a stand-in for the trainer (it reads only
`teacher_model`, `beta` and `generalized_jsd_loss`), so the reference is TRL's code,
forward passes and slicing included. The models are tiny random OLMo-2 causal LMs built
from a config (no files, no hub).
"""

from __future__ import annotations

import copy
import importlib.util
import os
from types import SimpleNamespace
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
GKDTrainer = pytest.importorskip("trl.experimental.gkd").GKDTrainer

from gkd_schema.runner.loss.distillation import compute_distillation_loss  # noqa: E402
from gkd_schema.runner.loss.model_heads import unwrap_causal_lm  # noqa: E402

VOCAB = 128
PROMPT, SEQ = 4, 12
IMPLEMENTATIONS = ["trl", "chunked", "fused"]


def tiny_lm(hidden: int, seed: int, tied: bool) -> Any:
    """A random two-layer OLMo-2 causal LM in float32, in train mode, dropout off."""
    torch.manual_seed(seed)
    config = transformers.Olmo2Config(
        vocab_size=VOCAB,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        tie_word_embeddings=tied,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=1,
    )
    model = transformers.Olmo2ForCausalLM(config)
    model.train()
    return model


@pytest.fixture(scope="module")
def student() -> Any:
    """A tied student, like Qwen2.5-0.5B."""
    return tiny_lm(hidden=32, seed=0, tied=True)


@pytest.fixture(scope="module")
def teacher() -> Any:
    """An untied, wider teacher with the same vocabulary."""
    return tiny_lm(hidden=64, seed=1, tied=False)


def make_batch(seed: int) -> dict[str, Any]:
    """Two rows: prompt positions labelled -100, the second row right-padded."""
    gen = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(1, VOCAB, (2, SEQ), generator=gen)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, -3:] = 0
    input_ids[1, -3:] = 0
    labels = input_ids.clone()
    labels[:, :PROMPT] = -100
    labels[attention_mask == 0] = -100
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def trl_reference(model: Any, teacher: Any, batch: dict[str, Any], beta: float, **kwargs: Any) -> Any:
    """TRL's `GKDTrainer.compute_loss`, run on a stand-in for the trainer."""
    trainer = SimpleNamespace(teacher_model=teacher, beta=beta, generalized_jsd_loss=GKDTrainer.generalized_jsd_loss)
    return GKDTrainer.compute_loss(trainer, model, dict(batch), **kwargs)


def loss_and_grads(fn: Any, model: Any) -> tuple[float, list[Any]]:
    """Run `fn()`, backpropagate, return the loss and the student's gradients."""
    model.zero_grad(set_to_none=True)
    loss = fn()
    loss.backward()
    grads = [p.grad.detach().clone() for p in model.parameters() if p.requires_grad]
    model.zero_grad(set_to_none=True)
    return float(loss.detach()), grads


@pytest.mark.parametrize(("beta", "num_items"), [(0.0, None), (0.5, 17), (1.0, None), (0.3, torch.tensor(9))])
def test_matches_trl_compute_loss(student: Any, teacher: Any, beta: float, num_items: Any) -> None:
    batch = make_batch(seed=int(beta * 10))
    ref_loss, ref_grads = loss_and_grads(
        lambda: trl_reference(student, teacher, batch, beta, num_items_in_batch=num_items), student
    )
    for implementation in IMPLEMENTATIONS:
        loss, grads = loss_and_grads(
            lambda implementation=implementation: compute_distillation_loss(
                student,
                teacher,
                batch,
                beta=beta,
                temperature=1.0,
                implementation=implementation,
                num_items_in_batch=num_items,
            ),
            student,
        )
        assert loss == pytest.approx(ref_loss, rel=1e-5), implementation
        for grad, ref_grad in zip(grads, ref_grads, strict=True):
            torch.testing.assert_close(grad, ref_grad, rtol=1e-4, atol=1e-5 * float(ref_grad.abs().max()))


def test_teacher_is_put_in_eval_mode_and_gets_no_gradient(student: Any, teacher: Any) -> None:
    teacher.train()
    compute_distillation_loss(
        student, teacher, make_batch(seed=3), beta=0.5, temperature=1.0, implementation="fused"
    ).backward()
    assert not teacher.training
    assert all(p.grad is None for p in teacher.parameters())
    student.zero_grad(set_to_none=True)


def test_return_outputs(student: Any, teacher: Any) -> None:
    batch = make_batch(seed=5)
    kwargs: dict[str, Any] = {"beta": 0.5, "temperature": 1.0, "return_outputs": True}
    _, outputs = compute_distillation_loss(student, teacher, batch, implementation="chunked", **kwargs)
    assert outputs.logits.shape == (2, SEQ, VOCAB)
    _, outputs = compute_distillation_loss(student, teacher, batch, implementation="fused", **kwargs)
    assert outputs.last_hidden_state.shape == (2, SEQ, 32)


def test_fused_through_a_peft_lora_student_matches_chunked(teacher: Any) -> None:
    peft = pytest.importorskip("peft")
    lora = peft.get_peft_model(
        tiny_lm(hidden=32, seed=0, tied=True), peft.LoraConfig(r=4, target_modules=["q_proj", "v_proj"])
    )
    batch = make_batch(seed=7)
    results = {
        impl: loss_and_grads(
            lambda impl=impl: compute_distillation_loss(
                lora, teacher, batch, beta=0.5, temperature=1.0, implementation=impl
            ),
            lora,
        )
        for impl in ("chunked", "fused")
    }
    (chunked_loss, chunked_grads), (fused_loss, fused_grads) = results["chunked"], results["fused"]
    assert fused_loss == pytest.approx(chunked_loss, rel=1e-5)
    assert len(fused_grads) == 8  # A and B of q_proj and v_proj in two layers: LoRA only
    for grad, ref_grad in zip(fused_grads, chunked_grads, strict=True):
        torch.testing.assert_close(grad, ref_grad, rtol=1e-4, atol=1e-5 * float(ref_grad.abs().max()))


def test_fused_refuses_models_it_cannot_reproduce(student: Any) -> None:
    peft = pytest.importorskip("peft")
    head_adapter = peft.get_peft_model(
        tiny_lm(hidden=32, seed=0, tied=False), peft.LoraConfig(r=4, target_modules=["lm_head"])
    )
    with pytest.raises(ValueError, match=r"plain nn\.Linear output layer"):
        unwrap_causal_lm(head_adapter)

    capped = copy.deepcopy(student)
    capped.config.final_logit_softcapping = 30.0
    with pytest.raises(ValueError, match="final_logit_softcapping"):
        unwrap_causal_lm(capped)

    class DistributedDataParallel(torch.nn.Module):  # named like torch's wrapper
        def __init__(self, module: Any) -> None:
            super().__init__()
            self.module = module

    with pytest.raises(ValueError, match="multi-process"):
        unwrap_causal_lm(DistributedDataParallel(student))
    assert unwrap_causal_lm(torch.nn.DataParallel(student)) is student


def test_unknown_implementation_and_missing_liger(student: Any, teacher: Any) -> None:
    batch = make_batch(seed=9)
    with pytest.raises(ValueError, match="unknown loss implementation 'fast'"):
        compute_distillation_loss(student, teacher, batch, beta=0.5, temperature=1.0, implementation="fast")
    if importlib.util.find_spec("liger_kernel") is None:
        with pytest.raises(ImportError, match="pip install liger-kernel"):
            compute_distillation_loss(student, teacher, batch, beta=0.5, temperature=1.0, implementation="liger")
    elif not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="needs a CUDA device"):
            compute_distillation_loss(student, teacher, batch, beta=0.5, temperature=1.0, implementation="liger")


def test_training_curves_match(teacher: Any) -> None:
    """Six SGD steps on fixed batches from the same initial student: same loss curve."""
    batches = [make_batch(seed=100 + i) for i in range(6)]
    curves = {}
    for impl in IMPLEMENTATIONS:
        model = tiny_lm(hidden=32, seed=0, tied=True)
        optimizer = torch.optim.SGD(model.parameters(), lr=2.0)
        curve = []
        for batch in batches:
            optimizer.zero_grad(set_to_none=True)
            loss = compute_distillation_loss(
                model, teacher, batch, beta=0.5, temperature=1.0, implementation=impl, num_items_in_batch=40
            )
            loss.backward()
            optimizer.step()
            curve.append(float(loss.detach()))
        curves[impl] = torch.tensor(curve)
    # The student learns: otherwise equal curves would prove little.
    assert curves["trl"][-2:].mean() < 0.9 * curves["trl"][:2].mean()
    for impl in ("chunked", "fused"):
        torch.testing.assert_close(curves[impl], curves["trl"], rtol=1e-4, atol=0)


@pytest.mark.parametrize("implementation", ["chunked", "fused"])
@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_a_top_k_teacher_at_the_full_vocabulary_is_the_full_loss(
    student: Any, teacher: Any, implementation: str, beta: float
) -> None:
    batch = make_batch(seed=3)

    def loss(top_k: int | None) -> Any:
        return compute_distillation_loss(
            student, teacher, batch, beta=beta, temperature=1.0, implementation=implementation, top_k=top_k
        )

    full_loss, full_grads = loss_and_grads(lambda: loss(None), student)
    topk_loss, topk_grads = loss_and_grads(lambda: loss(VOCAB), student)
    assert topk_loss == pytest.approx(full_loss, rel=1e-5)
    for got, want in zip(topk_grads, full_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    # A real top K: a different, smaller loss, still with a gradient for every parameter.
    small_loss, small_grads = loss_and_grads(lambda: loss(4), student)
    assert 0 < small_loss != pytest.approx(full_loss) and all(g.abs().sum() > 0 for g in small_grads)


@pytest.mark.parametrize("implementation", ["trl", "liger"])
def test_top_k_needs_gkds_own_loss(student: Any, teacher: Any, implementation: str) -> None:
    with pytest.raises(ValueError, match=r"teacher\.top_k needs gkd\.loss_implementation chunked or fused"):
        compute_distillation_loss(
            student, teacher, make_batch(0), beta=0.5, temperature=1.0, implementation=implementation, top_k=8
        )
