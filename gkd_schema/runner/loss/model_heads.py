"""The decoder and output layer inside a causal LM, for losses that start from hidden states.

The fused losses call a model's decoder and project its final hidden states with the
output layer's weight themselves; that reproduces the model's logits only for a plain
`nn.Linear` head with no logit transform, and bypasses distributed wrappers.
"""

from __future__ import annotations

from typing import Any

import torch

# Wrappers whose forward must run for gradients to be synchronised across processes;
# the fused losses call the decoder inside them directly, which would skip that.
_DISTRIBUTED_WRAPPERS = ("DistributedDataParallel", "FullyShardedDataParallel", "DeepSpeedEngine")
# Config attributes of models whose logits are not `lm_head(last_hidden_state)`.
_LOGIT_TRANSFORMS = ("final_logit_softcapping", "logit_scale", "logits_scaling")


def final_hidden(
    model: torch.nn.Module, inputs: dict[str, Any], *, grad: bool
) -> tuple[Any, torch.Tensor, torch.nn.Linear]:
    """Run `model`'s decoder: its outputs, final hidden states and output layer.

    Args:
        model: A causal LM, possibly wrapped (see `unwrap_causal_lm`).
        inputs: The batch, with `input_ids` and `attention_mask`.
        grad: Keep the hidden states in the autograd graph.

    Returns:
        `(decoder outputs, hidden states, output layer)`.
    """
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
