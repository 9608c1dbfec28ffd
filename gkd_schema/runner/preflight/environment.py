"""What the installed packages and the device must provide for the config's choices.

`loss_implementation: liger` needs `liger-kernel` and a CUDA device, `peft.load_in_4bit`
(QLoRA) needs `bitsandbytes` and a CUDA device, and each `training.report_to` tracker
needs its package: without these the run fails only after the models start loading (or,
for trackers, when the trainer is built), so they are checked first, naming the pip
extra that installs what is missing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

from gkd_schema.config.diagnostics import Diagnostic

# report_to value -> the modules transformers' integration imports (any one suffices).
TRACKER_MODULES: dict[str, tuple[str, ...]] = {
    "tensorboard": ("tensorboard", "tensorboardX"),
    "wandb": ("wandb",),
    "mlflow": ("mlflow",),
    "comet_ml": ("comet_ml",),
    "clearml": ("clearml",),
    "trackio": ("trackio",),
    "dvclive": ("dvclive",),
    "neptune": ("neptune",),
    "swanlab": ("swanlab",),
    "codecarbon": ("codecarbon",),
}


def extra_name(tracker: str) -> str:
    """The gkd pip extra that installs `tracker` (pip spells `_` as `-`)."""
    return tracker.replace("_", "-")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that fails to import
        return False


def check_trackers(report_to: Sequence[str]) -> list[Diagnostic]:
    """An error per `training.report_to` tracker whose package is not installed."""
    out = []
    for index, tracker in enumerate(report_to):
        modules = TRACKER_MODULES.get(tracker)
        if modules is None or any(_installed(m) for m in modules):
            continue  # `none`, `all` (whatever is installed), or present
        out.append(
            Diagnostic(
                ("training", "report_to", index),
                f"`{tracker}` is not installed, so the trainer cannot log to it; install it "
                f"with `pip install 'gkd[{extra_name(tracker)}]'` or remove it from `report_to`",
                "tracker_not_installed",
            )
        )
    return out


def check_loss_backend(loss_implementation: str, device_kind: str) -> list[Diagnostic]:
    """Errors when `liger` lacks its package or a CUDA device; nothing for the others."""
    if loss_implementation != "liger":
        return []
    loc = ("gkd", "loss_implementation")
    out = []
    if not _installed("liger_kernel"):
        out.append(
            Diagnostic(
                loc,
                "`liger` needs the liger-kernel package: `pip install 'gkd[liger]'`, or use "
                "`chunked` (the default) or `fused`",
                "liger_not_installed",
            )
        )
    if device_kind != "cuda":
        out.append(
            Diagnostic(
                loc,
                f"`liger` runs only on a CUDA GPU and this process sees {device_kind}; use "
                "`chunked` (any device) or `fused`",
                "liger_needs_cuda",
            )
        )
    return out


def check_qlora(load_in_4bit: bool, device_kind: str) -> list[Diagnostic]:
    """Errors when QLoRA lacks bitsandbytes or a CUDA device; nothing without `peft.load_in_4bit`."""
    if not load_in_4bit:
        return []
    loc = ("peft", "load_in_4bit")
    out = []
    if not _installed("bitsandbytes"):
        out.append(
            Diagnostic(
                loc,
                "QLoRA quantizes the student with the bitsandbytes package, which is not installed: "
                "`pip install 'gkd[qlora]'`, or set `peft.load_in_4bit: false` for plain LoRA",
                "qlora_not_installed",
            )
        )
    if device_kind != "cuda":
        out.append(
            Diagnostic(
                loc,
                f"QLoRA needs a CUDA GPU (bitsandbytes' 4-bit kernels) and this machine has none (this "
                f"process sees {device_kind}); set `peft.load_in_4bit: false` to train plain LoRA here",
                "qlora_needs_cuda",
            )
        )
    return out
