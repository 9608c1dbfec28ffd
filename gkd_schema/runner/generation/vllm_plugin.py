"""gkd's vLLM plugin: registers the `gkd_gloo` weight-transfer backend (`gloo_transfer.py`).

vLLM calls `register` in every process it starts when gkd is installed (the
`vllm.general_plugins` entry point), so it only names the classes; vLLM imports them
when a server is started with `--weight-transfer-config '{"backend": "gkd_gloo"}'`.
"""

from __future__ import annotations

# `models.weight_sync.SERVER_BACKEND["gloo"]` (a test pins it): importing the models here
# would load pydantic in every process vLLM starts.
GLOO_BACKEND = "gkd_gloo"
_MODULE = "gkd_schema.runner.generation.gloo_transfer"


def register() -> None:
    """Add `gkd_gloo` to vLLM's worker and trainer weight-transfer registries (once)."""
    from vllm.distributed.weight_transfer.factory import WeightTransferEngineFactory, WeightTransferTrainerFactory

    if GLOO_BACKEND not in WeightTransferEngineFactory._registry:
        WeightTransferEngineFactory.register_engine(GLOO_BACKEND, _MODULE, "GlooWeightTransferEngine")
    if GLOO_BACKEND not in WeightTransferTrainerFactory._registry:
        WeightTransferTrainerFactory.register_engine(GLOO_BACKEND, _MODULE, "GlooTrainerWeightTransferEngine")
