"""Catch an `--accelerate-config` the machine cannot honour, before anything launches.

FSDP and DeepSpeed need GPUs. With accelerate 1.15 on a CPU-only machine an FSDP
config either fails in every process at startup (FSDP1: "no available devices
found") or, worse, silently trains with plain data parallelism (FSDP2: accelerate
attaches the FSDP plugin only for GPU-like backends), each process holding the whole
model; DeepSpeed needs a CUDA build. Refusing up front costs a user nothing and says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

NEEDS_GPU = ("FSDP", "DEEPSPEED")


def read_accelerate_config(path: Path) -> dict[str, Any]:
    """The settings of an `accelerate config` file (YAML or JSON).

    Raises:
        ValueError: The file is not a YAML/JSON mapping.
        OSError: It cannot be read.
    """
    from gkd_schema.config.yaml_loader import YamlLoadError, decode_config_bytes, load_yaml

    try:
        data, _ = load_yaml(decode_config_bytes(path.read_bytes()))
    except YamlLoadError as exc:
        where = f", line {exc.mark.line}" if exc.mark is not None else ""
        raise ValueError(f"not a YAML or JSON file ({exc.message}{where})") from None
    if not isinstance(data, dict):
        raise ValueError("expected a mapping of accelerate settings (write one with `accelerate config`)")
    return data


def accelerate_config_problem(path: Path, *, has_gpu: bool) -> str | None:
    """Why `path` cannot launch a run on this machine, or None when it can.

    Args:
        path: The `--accelerate-config` file.
        has_gpu: Whether a CUDA or XPU device is visible.

    Returns:
        One sentence naming the setting and the fix, or None.
    """
    try:
        settings = read_accelerate_config(path)
    except (OSError, ValueError) as exc:
        return f"--accelerate-config {path}: {exc}"
    kind = str(settings.get("distributed_type", "")).upper()
    if kind in NEEDS_GPU and (settings.get("use_cpu") is True or not has_gpu):
        name = "DeepSpeed" if kind == "DEEPSPEED" else "FSDP"
        where = "the file sets `use_cpu: true`" if settings.get("use_cpu") is True else "no GPU is visible here"
        return (
            f"--accelerate-config {path}: `distributed_type: {kind}` needs GPUs, but {where}; "
            f"accelerate would fail or silently train without {name}. On a CPU use "
            "`--num-processes N` (data parallel over gloo) without an accelerate config"
        )
    return None
