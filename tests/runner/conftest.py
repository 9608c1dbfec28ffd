"""Fixtures for runner tests that talk to a Hub: a real socket on 127.0.0.1, never a mocked client."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hub_server import FakeHub, serve_hub


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No offline switch and an empty Hub cache at `HF_HUB_CACHE`.

    The suite sets `HF_HUB_OFFLINE=1`, and huggingface_hub read it when first imported,
    so its flag is switched back as well, as a process started without the variable has it.
    """
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    return monkeypatch


@pytest.fixture
def fake_hub() -> Iterator[FakeHub]:
    """A Hub on 127.0.0.1 that serves the folders put in its `repos` and records every request."""
    with serve_hub() as hub:
        yield hub
