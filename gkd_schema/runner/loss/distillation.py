"""TRL 1.16's `GKDTrainer.compute_loss`, with a choice of generalized JSD implementation.

The forward passes, the causal shift and the labels are TRL's: the student runs with
grad, the teacher in eval mode under `torch.no_grad()`, both on `input_ids` and
`attention_mask`; the logits at position i are scored against the label at i + 1, and
positions labelled -100 (prompt and padding) are ignored. Only the loss differs:

- `trl`: TRL's own `GKDTrainer.generalized_jsd_loss` on the full logits.
- `chunked`: the same numbers, a chunk of tokens at a time (`jsd_chunked`).
- `fused`: the models' decoders give final hidden states; the loss projects them with
  the output layers' weights a chunk at a time (`jsd_fused`), so the `[tokens, vocab]`
  logits are never built.
- `liger`: Liger's fused linear JSD kernel (needs `liger-kernel` and a CUDA device).
- `chunked` or `fused` with `teacher.top_k`: the teacher's top K per token, taken from
  its hidden states a chunk at a time (`topk_teacher`), against the student's softmax
  coarsened onto those K and a tail bucket (`jsd_topk`).
- `served_top_k`: the teacher's top K come from elsewhere (a teacher server); the local
  teacher is not run, and the answer is collected only after the student's forward
  pass, so a request in flight overlaps it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from gkd_schema.runner.loss.jsd_chunked import chunked_generalized_jsd_loss
from gkd_schema.runner.loss.jsd_fused import fused_linear_generalized_jsd_loss
from gkd_schema.runner.loss.jsd_plan import shift_labels
from gkd_schema.runner.loss.jsd_topk import fused_linear_topk_jsd_loss, topk_generalized_jsd_loss
from gkd_schema.runner.loss.liger import liger_loss
from gkd_schema.runner.loss.model_heads import final_hidden, unwrap_causal_lm
from gkd_schema.runner.loss.topk_teacher import TeacherTopK, teacher_top_k_from_hidden, teacher_top_k_from_logits

IMPLEMENTATIONS: tuple[str, ...] = ("chunked", "fused", "trl", "liger")
TOP_K_IMPLEMENTATIONS: tuple[str, ...] = ("chunked", "fused")


def compute_distillation_loss(
    model: torch.nn.Module,
    teacher_model: torch.nn.Module,
    inputs: dict[str, Any],
    *,
    beta: float,
    temperature: float,
    implementation: str,
    top_k: int | None = None,
    top_k_tail: bool = True,
    num_items_in_batch: int | torch.Tensor | None = None,
    return_outputs: bool = False,
    served_top_k: Callable[[], TeacherTopK] | None = None,
) -> torch.Tensor | tuple[torch.Tensor, Any]:
    """The GKD loss of one batch, as TRL 1.16's `GKDTrainer.compute_loss` computes it.

    Args:
        model: The student (a Hugging Face causal LM, possibly wrapped by peft or
            accelerate).
        teacher_model: The teacher, same vocabulary.
        inputs: The batch: `input_ids`, `attention_mask` and `labels` (-100 = ignored).
        beta: Generalized JSD interpolation (0 forward KL, 1 reverse KL).
        temperature: Logit temperature of the loss. TRL's GKD trainer uses 1.0 (its
            `temperature` is the sampling temperature); pass 1.0 to match it.
        implementation: `chunked`, `fused`, `trl` or `liger`.
        top_k: Distil against the teacher's top K per token only (`chunked` and `fused`);
            None uses the full vocabulary.
        top_k_tail: With `top_k`, add the rest-of-the-vocabulary bucket on both sides.
        num_items_in_batch: Global count of unmasked tokens under gradient
            accumulation; the loss is then the sum divided by it.
        return_outputs: Also return the student's outputs.
        served_top_k: With `top_k`: returns the teacher's top K (at least `top_k` entries
            per position, over the batch's positions); called after the student's forward
            pass. `teacher_model` is then not used.

    Returns:
        The scalar loss, or `(loss, student_outputs)`. With `fused` and `liger` the
        student outputs are its decoder's (`last_hidden_state`, no `logits`).

    Raises:
        ValueError: An unknown implementation, `top_k` with `trl` or `liger`, or a model
            the fused losses cannot handle (distributed wrappers, prompt-learning
            adapters, logit transforms, an output layer that is not a plain `nn.Linear`).
        ImportError: `liger` without `liger-kernel` installed.
        RuntimeError: `liger` without a CUDA device.
    """
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"unknown loss implementation {implementation!r}; choose one of {', '.join(IMPLEMENTATIONS)}")
    if top_k is not None:
        loss, student_outputs = _top_k_loss(
            model,
            teacher_model,
            inputs,
            beta=beta,
            temperature=temperature,
            implementation=implementation,
            top_k=top_k,
            tail=top_k_tail,
            num_items_in_batch=num_items_in_batch,
            served=served_top_k,
        )
        _empty_device_cache()
        return (loss, student_outputs) if return_outputs else loss
    labels = inputs["labels"]
    if implementation in ("fused", "liger"):
        student_outputs, student_hidden, student_head = final_hidden(model, inputs, grad=True)
        teacher_model.eval()
        with torch.no_grad():
            _, teacher_hidden, teacher_head = final_hidden(teacher_model, inputs, grad=False)
        loss_fn = _fused_loss if implementation == "fused" else liger_loss
        loss = loss_fn(
            student_hidden,
            student_head,
            teacher_hidden,
            teacher_head,
            labels,
            beta=beta,
            temperature=temperature,
            num_items_in_batch=num_items_in_batch,
        )
    else:
        student_outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
        teacher_model.eval()
        with torch.no_grad():
            teacher_outputs = teacher_model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
        if implementation == "trl":
            from trl.experimental.gkd import GKDTrainer

            loss = GKDTrainer.generalized_jsd_loss(  # type: ignore[no-untyped-call]
                student_logits=student_outputs.logits[:, :-1, :],
                teacher_logits=teacher_outputs.logits[:, :-1, :],
                labels=labels[:, 1:],
                beta=beta,
                temperature=temperature,
                num_items_in_batch=num_items_in_batch,
            )
        else:
            # The unsliced logits with labels shifted instead: the same rows are scored,
            # and the gradient has the logits' own shape, so autograd does not build a
            # second full-size tensor to scatter a sliced view's gradient into.
            loss = chunked_generalized_jsd_loss(
                student_outputs.logits,
                teacher_outputs.logits,
                shift_labels(labels),
                beta=beta,
                temperature=temperature,
                num_items_in_batch=num_items_in_batch,
            )
    _empty_device_cache()
    return (loss, student_outputs) if return_outputs else loss


def _fused_loss(
    student_hidden: torch.Tensor,
    student_head: torch.nn.Linear,
    teacher_hidden: torch.Tensor,
    teacher_head: torch.nn.Linear,
    labels: torch.Tensor,
    *,
    beta: float,
    temperature: float,
    num_items_in_batch: int | torch.Tensor | None,
) -> torch.Tensor:
    """The plain-PyTorch fused loss on final hidden states and output layers."""
    return fused_linear_generalized_jsd_loss(
        student_hidden,
        student_head.weight,
        teacher_hidden,
        teacher_head.weight.detach(),  # a trainable teacher parameter, used as a constant
        shift_labels(labels),
        student_bias=student_head.bias,
        teacher_bias=None if teacher_head.bias is None else teacher_head.bias.detach(),
        beta=beta,
        temperature=temperature,
        num_items_in_batch=num_items_in_batch,
    )


def _top_k_loss(
    model: torch.nn.Module,
    teacher_model: torch.nn.Module,
    inputs: dict[str, Any],
    *,
    beta: float,
    temperature: float,
    implementation: str,
    top_k: int,
    tail: bool,
    num_items_in_batch: int | torch.Tensor | None,
    served: Callable[[], TeacherTopK] | None,
) -> tuple[torch.Tensor, Any]:
    """The loss against the teacher's top K, the student side through `implementation`."""
    if implementation not in TOP_K_IMPLEMENTATIONS:
        raise ValueError(
            f"teacher.top_k needs gkd.loss_implementation {' or '.join(TOP_K_IMPLEMENTATIONS)}, not {implementation}"
        )
    labels = shift_labels(inputs["labels"])

    def teacher() -> TeacherTopK:
        if served is None:
            return _local_teacher_top_k(teacher_model, inputs, labels, top_k, temperature)
        return served()

    local = served is None
    common: dict[str, Any] = {
        "tail": tail,
        "beta": beta,
        "temperature": temperature,
        "num_items_in_batch": num_items_in_batch,
    }
    # A local teacher runs first, so its activations are freed before the student's exist;
    # a served one is collected last, so its request overlaps the student's forward pass.
    early = teacher() if local else None
    if implementation == "fused":
        outputs, hidden, head = final_hidden(model, inputs, grad=True)
        top = early or teacher()
        loss = fused_linear_topk_jsd_loss(hidden, head.weight, top, labels, student_bias=head.bias, **common)
        return loss, outputs
    outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
    return topk_generalized_jsd_loss(outputs.logits, early or teacher(), labels, **common), outputs


def _local_teacher_top_k(
    teacher_model: torch.nn.Module, inputs: dict[str, Any], labels: torch.Tensor, k: int, temperature: float
) -> TeacherTopK:
    """The teacher's top K at the labelled positions, from its hidden states when reachable."""
    teacher_model.eval()
    with torch.no_grad():
        try:
            causal_lm = unwrap_causal_lm(teacher_model)
        except ValueError:
            # A wrapped or logit-transforming teacher: its own logits, then the top K.
            logits = teacher_model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).logits
            return teacher_top_k_from_logits(logits, labels, k, temperature=temperature)
        hidden = causal_lm.get_decoder()(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])[0]
        head = causal_lm.get_output_embeddings()
        return teacher_top_k_from_hidden(hidden, head.weight, head.bias, labels, k, temperature=temperature)


def _empty_device_cache() -> None:
    """Release cached accelerator memory after the loss, as TRL's `compute_loss` does."""
    from trl.experimental.utils import empty_cache

    empty_cache()
