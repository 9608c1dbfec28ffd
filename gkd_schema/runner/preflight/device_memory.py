"""How much memory the device a run trains on has: the first GPU, else system RAM."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DeviceMemory:
    """Total memory of the training device.

    Attributes:
        name: `cuda:0 (NVIDIA H100 80GB HBM3)` or `CPU RAM`.
        total_bytes: Its total memory.
        accelerator: True for a GPU, False for the CPU (then `auto` dtypes load as float32).
    """

    name: str
    total_bytes: int
    accelerator: bool


def _gpu_driver_present() -> bool:
    """Cheap test for a GPU driver, so a CPU machine never pays for importing torch."""
    return Path("/proc/driver/nvidia").exists() or Path("/dev/kfd").exists()


def _cuda_memory() -> DeviceMemory | None:
    """The first CUDA (or ROCm) device, when torch sees one."""
    if "torch" not in sys.modules and not _gpu_driver_present():
        return None
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    props = torch.cuda.get_device_properties(0)
    return DeviceMemory(f"cuda:0 ({props.name})", int(props.total_memory), accelerator=True)


def system_ram_bytes() -> int | None:
    """Total system RAM from /proc/meminfo, else `os.sysconf`; None when unknown."""
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def device_memory() -> DeviceMemory | None:
    """Memory of the device training will use: GPU 0 when CUDA is available, else RAM."""
    gpu = _cuda_memory()
    if gpu is not None:
        return gpu
    ram = system_ram_bytes()
    return DeviceMemory("CPU RAM", ram, accelerator=False) if ram else None
