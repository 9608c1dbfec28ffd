"""Choose training precision and load dtypes from the device the run is on.

TRL's GKDConfig turns bf16 on even on a CPU without native bf16 (about 4x slower
there); gkd chooses from the hardware unless the config says otherwise.

On a CPU the student always trains in fp32. A CPU with bf16 in hardware (AVX512-BF16,
AMX) runs bf16 matrix products 3-4x faster than fp32, so there a frozen teacher stored
in bf16 is kept in bf16; without it, everything loads as float32.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gkd_schema.models import RunConfig

# /proc/cpuinfo flags of x86 CPUs that compute bf16 dot products in hardware.
_NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


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


def cpuinfo_has_native_bf16(cpuinfo: str) -> bool:
    """Whether a `/proc/cpuinfo` text lists a hardware bf16 instruction set."""
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return not _NATIVE_BF16_FLAGS.isdisjoint(line.partition(":")[2].split())
    return False


@functools.cache
def cpu_native_bf16() -> bool:
    """Whether this machine's CPU computes bf16 in hardware.

    Read from `/proc/cpuinfo` rather than asked of torch, so preflight's memory
    estimate can use it without importing torch. Elsewhere (macOS, Windows) the
    answer is False, which keeps the safe float32 choice.
    """
    try:
        return cpuinfo_has_native_bf16(Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return False


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
    return DeviceInfo("cpu", "CPU", cpu_native_bf16())


def auto_load_dtype(
    role: Literal["student", "teacher"], *, device_kind: str, native_bf16: bool, stored: str | None
) -> str:
    """What gkd loads a model with `dtype: auto` as.

    Args:
        role: The student trains; the teacher only runs forward passes.
        device_kind: `cuda`, `xpu`, `mps` or `cpu`.
        native_bf16: Whether the device computes bf16 in hardware.
        stored: The dtype the checkpoint was saved in, when known.

    Returns:
        `auto` (as stored) on an accelerator. On a CPU `float32`, except a teacher
        stored in bfloat16 on a CPU with native bf16, which stays `bfloat16`.
    """
    if device_kind != "cpu":
        return "auto"
    # A bf16 checkpoint loaded as stored would train and generate in bf16 on a CPU;
    # without hardware bf16 that is emulated slowly, and the student's optimizer
    # needs fp32 weights anyway. A frozen teacher only gains from native bf16.
    if role == "teacher" and native_bf16 and stored == "bfloat16":
        return "bfloat16"
    return "float32"


def choose_precision(
    config: RunConfig, device: DeviceInfo, *, teacher_stored_dtype: str | None = None
) -> Precision:
    """Resolve `training.bf16`/`fp16` left unset, and `auto` load dtypes on CPU.

    Args:
        config: The validated run config.
        device: What the accelerator supports.
        teacher_stored_dtype: The dtype the teacher checkpoint was saved in, if known.

    Returns:
        The precision to train in. Explicit `bf16`/`fp16` values always win.
    """
    training = config.training

    def _load_dtype(requested: str, role: Literal["student", "teacher"], stored: str | None) -> str:
        if requested != "auto":
            return requested
        return auto_load_dtype(role, device_kind=device.kind, native_bf16=device.bf16, stored=stored)

    teacher_requested = str(config.gkd.teacher_model_init_kwargs.get("dtype", "auto"))
    teacher_dtype = _load_dtype(teacher_requested, "teacher", teacher_stored_dtype)
    if training.bf16 is not None or training.fp16 is not None:
        bf16, fp16 = bool(training.bf16), bool(training.fp16)
        reason = "set in the config"
    elif device.kind == "cpu":
        # Measured on tiny models (benchmarks/README.md): bf16 autocast on a CPU with
        # native bf16 was no faster than fp32 for the student, and costs accuracy.
        bf16, fp16 = False, False
        if not device.bf16:
            reason = f"chosen: {device.name} has no native bf16"
        elif teacher_requested == "auto" and teacher_dtype == "bfloat16":
            reason = f"chosen: {device.name} trains in fp32; its native bf16 runs the bf16 teacher as stored"
        else:
            reason = f"chosen: {device.name} trains in fp32"
    elif device.bf16:
        bf16, fp16 = True, False
        reason = f"chosen: {device.name} supports bf16"
    else:
        bf16, fp16 = False, False
        reason = f"chosen: {device.name} has no native bf16"
    return Precision(
        bf16=bf16,
        fp16=fp16,
        student_dtype=_load_dtype(config.model.dtype, "student", None),
        teacher_dtype=teacher_dtype,
        reason=reason,
        device_kind=device.kind,
    )


def precision_for(config: RunConfig, base_dir: Path) -> tuple[DeviceInfo, Precision]:
    """Detect this process's device and choose the run's precision for it.

    Args:
        config: The validated run config.
        base_dir: Directory relative model paths resolve against.

    Returns:
        The device and the precision. Only reads the teacher's config.json (on a CPU
        with native bf16, to learn its stored dtype); loads no weights.
    """
    device = detect_device()
    stored = None
    if device.kind == "cpu" and device.bf16:
        from gkd_schema.runner.preflight.locate import checkpoint_dtype

        revision = config.gkd.teacher_model_init_kwargs.get("revision")
        stored = checkpoint_dtype(
            config.gkd.teacher_model_name_or_path,
            base_dir=base_dir,
            revision=revision if isinstance(revision, str) else None,
        )
    return device, choose_precision(config, device, teacher_stored_dtype=stored)
