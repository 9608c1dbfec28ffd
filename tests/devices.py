"""Simulated devices for precision tests: what `detect_device` would report on each."""

from __future__ import annotations

from gkd_schema.runner.preflight.precision import DeviceInfo

CPU = DeviceInfo("cpu", "CPU", False)
CPU_BF16 = DeviceInfo("cpu", "CPU", True)  # AVX512-BF16 or AMX
AMPERE = DeviceInfo("cuda", "NVIDIA A100", True)
TURING = DeviceInfo("cuda", "Tesla T4", False)
