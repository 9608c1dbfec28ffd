"""Lay out local folders as the Hugging Face Hub cache does, so Hub ids resolve offline."""

from __future__ import annotations

import shutil
from pathlib import Path

COMMIT = "89abcdef0123456789abcdef0123456789abcdef"


def fake_hub_model(cache: Path, repo_id: str, source: Path) -> None:
    """Copy `source` into `cache` as the snapshot `hf download repo_id` leaves."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    shutil.copytree(source, repo / "snapshots" / COMMIT)
