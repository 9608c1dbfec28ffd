"""Choose training precision and load dtypes from the device the run is on.

TRL's GKDConfig turns bf16 on even on a CPU without native bf16 (about 4x slower
there); gkd chooses from the hardware unless the config says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from gkd_schema.models import RunConfig


@dataclass(frozen=True)
class DeviceInfo:
    """What the accelerator of this process can do.

    Attributes:
        kind: `cuda`, `xpu`, `mps` or `cpu`.
        name: Human-readable device name for the banner.
        bf16: Whether the device computes in bfloat16 natively.
    """

    kind: str
    name: str
    bf16: bool


@dataclass(frozen=True)
class Precision:
    """The precision a run trains in, and why.

    Attributes:
        bf16: Value for GKDConfig's `bf16`.
        fp16: Value for GKDConfig's `fp16`.
        student_dtype: `dtype` for loading the student.
        teacher_dtype: `dtype` for loading the teacher.
        reason: One line for the start banner.
        device_kind: `cuda`, `xpu`, `mps` or `cpu`.
    """

    bf16: bool
    fp16: bool
    student_dtype: str
    teacher_dtype: str
    reason: str
    device_kind: str = "cpu"

    @property
    def label(self) -> str:
        """`bf16`, `fp16` or `fp32`."""
        return "bf16" if self.bf16 else "fp16" if self.fp16 else "fp32"


def detect_device() -> DeviceInfo:
    """Inspect the accelerator visible to this process (imports torch)."""
    import torch

    if torch.cuda.is_available():
        return DeviceInfo("cuda", torch.cuda.get_device_name(0), torch.cuda.is_bf16_supported())
    xpu = getattr(torch, "xpu", None)
    if xpu is not None and xpu.is_available():
        return DeviceInfo("xpu", "Intel XPU", True)
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        # bf16 autocast on MPS is recent and patchy; fp32 is the dependable choice.
        return DeviceInfo("mps", "Apple MPS", False)
    return DeviceInfo("cpu", "CPU", False)


def choose_precision(config: RunConfig, device: DeviceInfo) -> Precision:
    """Resolve `training.bf16`/`fp16` left unset, and `auto` load dtypes on CPU.

    Args:
        config: The validated run config.
        device: What the accelerator supports.

    Returns:
        The precision to train in. Explicit `bf16`/`fp16` values always win.
    """
    training = config.training
    if training.bf16 is not None or training.fp16 is not None:
        bf16, fp16 = bool(training.bf16), bool(training.fp16)
        reason = "set in the config"
    elif device.bf16:
        bf16, fp16 = True, False
        reason = f"chosen: {device.name} supports bf16"
    else:
        bf16, fp16 = False, False
        reason = f"chosen: {device.name} has no native bf16"

    # A bf16 checkpoint loaded with dtype=auto trains and generates in bf16 on a CPU,
    # which emulates it slowly; load in float32 there instead.
    def _load_dtype(requested: str) -> str:
        return "float32" if requested == "auto" and device.kind == "cpu" else requested

    teacher_requested = str(config.gkd.teacher_model_init_kwargs.get("dtype", "auto"))
    return Precision(
        bf16=bf16,
        fp16=fp16,
        student_dtype=_load_dtype(config.model.dtype),
        teacher_dtype=_load_dtype(teacher_requested),
        reason=reason,
        device_kind=device.kind,
    )
