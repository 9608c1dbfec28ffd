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
"""

from __future__ import annotations

from typing import Any

import torch

from gkd_schema.runner.loss.jsd_chunked import chunked_generalized_jsd_loss
from gkd_schema.runner.loss.jsd_fused import fused_linear_generalized_jsd_loss
from gkd_schema.runner.loss.jsd_plan import IGNORE_INDEX

IMPLEMENTATIONS: tuple[str, ...] = ("chunked", "fused", "trl", "liger")
# Wrappers whose forward must run for gradients to be synchronised across processes;
# the fused losses call the decoder inside them directly, which would skip that.
_DISTRIBUTED_WRAPPERS = ("DistributedDataParallel", "FullyShardedDataParallel", "DeepSpeedEngine")
# Config attributes of models whose logits are not `lm_head(last_hidden_state)`.
_LOGIT_TRANSFORMS = ("final_logit_softcapping", "logit_scale", "logits_scaling")


def compute_distillation_loss(
    model: torch.nn.Module,
    teacher_model: torch.nn.Module,
    inputs: dict[str, Any],
    *,
    beta: float,
    temperature: float,
    implementation: str,
    num_items_in_batch: int | torch.Tensor | None = None,
    return_outputs: bool = False,
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
        num_items_in_batch: Global count of unmasked tokens under gradient
            accumulation; the loss is then the sum divided by it.
        return_outputs: Also return the student's outputs.

    Returns:
        The scalar loss, or `(loss, student_outputs)`. With `fused` and `liger` the
        student outputs are its decoder's (`last_hidden_state`, no `logits`).

    Raises:
        ValueError: An unknown implementation, or a model the fused losses cannot
            handle (distributed wrappers, prompt-learning adapters, logit transforms,
            an output layer that is not a plain `nn.Linear`).
        ImportError: `liger` without `liger-kernel` installed.
        RuntimeError: `liger` without a CUDA device.
    """
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"unknown loss implementation {implementation!r}; choose one of {', '.join(IMPLEMENTATIONS)}")
    labels = inputs["labels"]
    if implementation in ("fused", "liger"):
        student_outputs, student_hidden, student_head = _final_hidden(model, inputs, grad=True)
        teacher_model.eval()
        with torch.no_grad():
            _, teacher_hidden, teacher_head = _final_hidden(teacher_model, inputs, grad=False)
        loss_fn = _fused_loss if implementation == "fused" else _liger_loss
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


def shift_labels(labels: torch.Tensor) -> torch.Tensor:
    """`labels[:, 1:]` padded back to full length with -100: position i scores token i + 1.

    Args:
        labels: `[batch, seq]` labels.

    Returns:
        `[batch, seq]` labels; the last column is ignored.
    """
    return torch.nn.functional.pad(labels[:, 1:], (0, 1), value=IGNORE_INDEX)


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


def _liger_loss(
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
    """Liger's fused linear JSD (CUDA only), normalised like TRL."""
    try:
        from liger_kernel.transformers.fused_linear_jsd import (  # type: ignore[import-not-found, unused-ignore]
            LigerFusedLinearJSD,
        )
    except ImportError as exc:
        raise ImportError(
            "gkd.loss_implementation: liger needs Liger's kernels: `pip install liger-kernel` "
            "(CUDA only); or use `chunked` (the default) or `fused`, which run anywhere"
        ) from exc
    if student_hidden.device.type != "cuda":
        raise RuntimeError(
            "gkd.loss_implementation: liger needs a CUDA device, but the model is on "
            f"{student_hidden.device.type}; use `chunked` (the default) or `fused` instead"
        )
    if student_head.bias is not None or teacher_head.bias is not None:
        raise ValueError("gkd.loss_implementation: liger does not support an output layer with a bias; use `fused`")
    flat_labels = shift_labels(labels).reshape(-1)
    jsd = LigerFusedLinearJSD(jsd_beta=beta, ignore_index=IGNORE_INDEX, temperature=temperature)
    # Liger averages over the unmasked tokens, which is TRL's `batchmean`.
    loss: torch.Tensor = jsd(
        student_hidden.reshape(-1, student_hidden.shape[-1]),
        student_head.weight,
        teacher_hidden.reshape(-1, teacher_hidden.shape[-1]),
        teacher_head.weight.detach(),  # a trainable teacher parameter, used as a constant
        flat_labels,
    )
    if num_items_in_batch is not None:
        n_valid = (flat_labels != IGNORE_INDEX).sum()
        loss = loss * n_valid / num_items_in_batch
    return loss


def _final_hidden(
    model: torch.nn.Module, inputs: dict[str, Any], *, grad: bool
) -> tuple[Any, torch.Tensor, torch.nn.Linear]:
    """Run `model`'s decoder: its outputs, final hidden states and output layer."""
    causal_lm = unwrap_causal_lm(model)
    decoder = causal_lm.get_decoder()
    outputs = decoder(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
    hidden: torch.Tensor = outputs[0]
    return outputs, hidden if grad else hidden.detach(), causal_lm.get_output_embeddings()


def unwrap_causal_lm(model: torch.nn.Module) -> Any:
    """The Hugging Face causal LM inside torch.compile, DataParallel and peft wrappers.

    Args:
        model: The model as the trainer holds it.

    Returns:
        A model with `get_decoder()` and an `nn.Linear` `get_output_embeddings()` whose
        logits are exactly `output_layer(decoder(...).last_hidden_state)`.

    Raises:
        ValueError: The model is wrapped for distributed training, is a prompt-learning
            peft model, transforms its logits, or has no plain linear output layer.
    """
    # Wrappers are duck-typed: peft, accelerate and HF classes are not imported here.
    current: Any = model
    while True:
        name = type(current).__name__
        if name in _DISTRIBUTED_WRAPPERS:
            raise ValueError(
                f"gkd.loss_implementation: fused calls the decoder directly, which {name} does "
                "not synchronise; use `chunked` for multi-process training"
            )
        inner = getattr(current, "_orig_mod", None)  # torch.compile
        if inner is None and isinstance(current, torch.nn.DataParallel):
            inner = current.module
        if inner is None and hasattr(current, "get_base_model") and hasattr(current, "peft_config"):
            config = current.peft_config.get(getattr(current, "active_adapter", "default"))
            if getattr(config, "is_prompt_learning", False):
                raise ValueError(
                    "gkd.loss_implementation: fused does not support prompt-learning peft "
                    "adapters (they change the inputs); use `chunked`"
                )
            inner = current.get_base_model()
        if inner is None:
            break
        current = inner
    if not (hasattr(current, "get_decoder") and hasattr(current, "get_output_embeddings")):
        raise ValueError(f"gkd.loss_implementation: fused needs a causal LM, got {type(current).__name__}")
    head = current.get_output_embeddings()
    if type(head) is not torch.nn.Linear:
        raise ValueError(
            "gkd.loss_implementation: fused needs a plain nn.Linear output layer, got "
            f"{type(head).__name__} (e.g. an adapter on lm_head); use `chunked`"
        )
    config = getattr(current, "config", None)
    for attr in _LOGIT_TRANSFORMS:
        value = getattr(config, attr, None)
        if value not in (None, 1, 1.0):
            raise ValueError(
                f"gkd.loss_implementation: fused cannot reproduce this model's logits "
                f"(config.{attr} = {value}); use `chunked`"
            )
    return current


def _empty_device_cache() -> None:
    """Release cached accelerator memory after the loss, as TRL's `compute_loss` does."""
    from trl.experimental.utils import empty_cache

    empty_cache()
