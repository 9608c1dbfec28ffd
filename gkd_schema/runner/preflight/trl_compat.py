"""The one place that knows where TRL keeps its GKD trainer.

TRL moved `GKDTrainer`/`GKDConfig` to `trl.experimental.gkd` (1.x); older releases
exported them from `trl`. Everything else in gkd imports them from here, so a future
move is a one-line change.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import typing
from functools import cache
from typing import Any


@cache
def gkd_classes() -> tuple[type[Any], type[Any]]:
    """Return TRL's `(GKDConfig, GKDTrainer)` classes.

    Raises:
        ImportError: TRL (the `train` extra) is not installed, with what to install.
    """
    # TRL warns on every import from `trl.experimental`; gkd pins the location here.
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    for location in ("trl.experimental.gkd", "trl"):
        try:
            module = importlib.import_module(location)
            return module.GKDConfig, module.GKDTrainer
        except (ImportError, AttributeError):
            continue
    raise ImportError(
        "gkd run needs TRL's GKD trainer (trl.experimental.gkd); install the training "
        "extra: pip install 'gkd[train]'"
    )


@cache
def gkd_config_fields() -> frozenset[str]:
    """Names of every keyword argument `GKDConfig` accepts."""
    config_cls, _ = gkd_classes()
    return frozenset(f.name for f in dataclasses.fields(config_cls) if f.init)


@cache
def gkd_config_types() -> dict[str, Any]:
    """GKDConfig field name -> its type annotation; empty if TRL's hints do not resolve."""
    config_cls, _ = gkd_classes()
    try:
        return typing.get_type_hints(config_cls)
    except Exception:  # a forward reference TRL cannot resolve: check names only
        return {}


def unwrap_for_generation() -> Any:
    """TRL's `unwrap_model_for_generation` context manager (handles ZeRO-3 gathering)."""
    from trl.models.utils import unwrap_model_for_generation

    return unwrap_model_for_generation


def prepare_fsdp() -> Any:
    """TRL's `prepare_fsdp`: shards a model that is not trained (FSDP1 or FSDP2, eval mode)."""
    from trl.models.utils import prepare_fsdp as prepare

    return prepare
