"""Read a checkpoint's shape without loading it: config.json and safetensors headers.

A safetensors file starts with an 8-byte little-endian header length and a JSON
header listing every tensor's dtype and shape, so exact parameter counts cost a few
kilobytes of reading. When the weights are not safetensors (or not all shards are
present), the count is estimated from config.json.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Bytes per element of safetensors dtypes (only the ones checkpoints use).
SAFETENSORS_DTYPE_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
    "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
}  # fmt: skip
TORCH_DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
_MAX_HEADER = 100 * 1024 * 1024  # a larger header means a corrupt or foreign file


@dataclass(frozen=True)
class ParamCount:
    """How many parameters a checkpoint has and how they are stored.

    Attributes:
        params: Number of parameters (tied weights counted once).
        stored_bytes_per_param: Bytes per parameter in the checkpoint files.
        exact: True when read from safetensors headers, False when estimated.
    """

    params: int
    stored_bytes_per_param: float
    exact: bool


def read_config(model_dir: Path) -> dict[str, Any] | None:
    """config.json of a model folder as a dict, or None when missing or unreadable."""
    try:
        data = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def text_config(config: dict[str, Any]) -> dict[str, Any]:
    """The language-model part of a config (`text_config` of multimodal models).

    TRL compares `config.get_text_config().vocab_size`; this is its JSON counterpart.
    """
    if "vocab_size" not in config and isinstance(config.get("text_config"), dict):
        return dict(config["text_config"])
    return config


def vocab_size(config: dict[str, Any]) -> int | None:
    """The embedding rows of a model (not `len(tokenizer)`), or None when absent."""
    value = text_config(config).get("vocab_size")
    return value if isinstance(value, int) and value > 0 else None


def config_dtype(config: dict[str, Any]) -> str | None:
    """The dtype a checkpoint was saved in (`dtype`, formerly `torch_dtype`)."""
    for cfg in (config, text_config(config)):
        value = cfg.get("dtype") or cfg.get("torch_dtype")
        if isinstance(value, str) and value in TORCH_DTYPE_BYTES:
            return value
    return None


def safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of one safetensors file.

    Raises:
        ValueError: The file is not a safetensors file.
        OSError: It cannot be read.
    """
    with path.open("rb") as fh:
        raw = fh.read(8)
        if len(raw) != 8:
            raise ValueError(f"{path} is too short to be a safetensors file")
        (length,) = struct.unpack("<Q", raw)
        if length > _MAX_HEADER:
            raise ValueError(f"{path} has an implausible safetensors header length")
        header = json.loads(fh.read(length))
    if not isinstance(header, dict):
        raise ValueError(f"{path} has no safetensors header")
    return header


def _safetensors_files(model_dir: Path) -> list[Path] | None:
    """Every weight shard of a folder, or None when some listed shard is missing."""
    index = model_dir / "model.safetensors.index.json"
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
        except (OSError, ValueError):
            return None
        files = [model_dir / name for name in sorted(set(weight_map.values()))]
        return files if files and all(f.is_file() for f in files) else None
    files = sorted(model_dir.glob("*.safetensors"))
    return files or None


def has_all_weights(model_dir: Path) -> bool:
    """Whether a folder holds every weight shard (safetensors) or pytorch_model*.bin weights."""
    return _safetensors_files(model_dir) is not None or next(model_dir.glob("pytorch_model*.bin"), None) is not None


def count_from_safetensors(model_dir: Path) -> ParamCount | None:
    """Exact parameter count from the safetensors headers, or None when unavailable."""
    files = _safetensors_files(model_dir)
    if files is None:
        return None
    params = 0
    nbytes = 0
    try:
        for file in files:
            for name, info in safetensors_header(file).items():
                if name == "__metadata__" or not isinstance(info, dict):
                    continue
                n = math.prod(int(d) for d in info.get("shape", []))
                params += n
                nbytes += n * SAFETENSORS_DTYPE_BYTES.get(str(info.get("dtype")), 4)
    except (OSError, ValueError, TypeError):
        return None
    if params == 0:
        return None
    return ParamCount(params, nbytes / params, exact=True)


def estimate_from_config(config: dict[str, Any]) -> int | None:
    """Approximate parameters of a decoder-only transformer from its config.

    Assumes a Llama-like layout: embeddings (and an untied head), grouped-query
    attention, a gated MLP (three matrices; times the experts of a mixture of
    experts) and two norms per layer. Biases are counted only for Qwen2-style q/k/v.
    Good to a fraction of a percent on Llama, Qwen2, Mistral and OLMo-2 configs.
    """
    cfg = text_config(config)
    hidden, layers, vocab = cfg.get("hidden_size"), cfg.get("num_hidden_layers"), vocab_size(cfg)
    if not all(isinstance(v, int) and v > 0 for v in (hidden, layers, vocab)):
        return None
    assert isinstance(hidden, int) and isinstance(layers, int) and isinstance(vocab, int)
    heads = cfg.get("num_attention_heads") or max(1, hidden // 64)
    kv_heads = cfg.get("num_key_value_heads") or heads
    head_dim = cfg.get("head_dim") or hidden // heads
    attention = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim
    if cfg.get("attention_bias") or cfg.get("model_type") == "qwen2":
        attention += heads * head_dim + 2 * kv_heads * head_dim
    experts = cfg.get("num_experts") or cfg.get("num_local_experts") or cfg.get("n_routed_experts")
    if isinstance(experts, int) and experts > 1:
        expert_width = cfg.get("moe_intermediate_size") or cfg.get("intermediate_size")
        mlp = 3 * hidden * int(expert_width or 4 * hidden) * experts
    else:
        mlp = 3 * hidden * int(cfg.get("intermediate_size") or 4 * hidden)
    # An untied output head doubles the embedding; absent means untied (the larger count).
    embeddings = vocab * hidden * (1 if cfg.get("tie_word_embeddings", False) else 2)
    return int(embeddings + layers * (attention + mlp + 2 * hidden) + hidden)


def count_parameters(model_dir: Path, config: dict[str, Any]) -> ParamCount | None:
    """Parameters of a checkpoint: exact from safetensors, else estimated from config.json."""
    exact = count_from_safetensors(model_dir)
    if exact is not None:
        return exact
    estimate = estimate_from_config(config)
    if estimate is None:
        return None
    stored = TORCH_DTYPE_BYTES.get(config_dtype(config) or "float32", 4)
    return ParamCount(estimate, float(stored), exact=False)
