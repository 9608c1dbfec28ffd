"""Handing the student's current weights to a colocated vLLM engine.

One path for CPU and CUDA: vLLM's own `reload_weights` through `collective_rpc`, with
the tensors in memory. TRL 1.16's colocated sync calls the model's `load_weights`
directly, which fails on the CPU build (it repacks linear weights after loading, so the
parameters lose their `weight_loader`); `reload_weights` reloads and repacks. A LoRA
student is merged for the handover and unmerged after, so the engine runs the merged
weights and never sees adapter tensors. The prefix cache holds keys and values of the
old weights and is emptied after every sync.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_PEFT_PREFIX = "base_model.model."


def _checkpoint_name(name: str) -> str:
    """A parameter's name as in the checkpoint (what vLLM's loader maps from)."""
    return (
        name.removeprefix(_PEFT_PREFIX)
        .replace(".base_layer", "")
        .replace("modules_to_save.default.", "")
        .replace("_checkpoint_wrapped_module.", "")
    )


def _is_peft(model: Any) -> bool:
    return hasattr(model, "merge_adapter") and hasattr(model, "peft_config")


@contextmanager
def current_weights(model: Any) -> Iterator[list[tuple[str, Any]]]:
    """`(checkpoint name, tensor)` of every parameter of `model`, LoRA adapters merged in.

    The tensors are the model's own (no copies); a LoRA student stays merged until the
    context exits, so hand them over inside it.
    """
    # A tied head is yielded under both names: `reload_weights` reloads module by module,
    # and an LM head given no tensor keeps its old weights ("ParallelLMHead: Failed to
    # load weights") while the embedding moves on.
    if not _is_peft(model):
        yield [(_checkpoint_name(n), p.detach()) for n, p in model.named_parameters(remove_duplicate=False)]
        return
    adapter_marker = getattr(model, "prefix", "lora_")
    model.merge_adapter()
    try:
        yield [
            (_checkpoint_name(n), p.detach())
            for n, p in model.named_parameters(remove_duplicate=False)
            if adapter_marker not in n and "original_module" not in n
        ]
    finally:
        model.unmerge_adapter()


def push_weights(llm: Any, model: Any) -> None:
    """Load `model`'s current weights into the in-process engine `llm` and empty its prefix cache."""
    import torch

    with torch.no_grad(), current_weights(model) as weights:
        llm.collective_rpc(
            "reload_weights", kwargs={"weights_iterator": weights, "is_checkpoint_format": True}
        )
    llm.reset_prefix_cache()
