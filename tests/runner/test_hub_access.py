"""Hub models: fail in seconds when a missing one cannot be downloaded; never wait on the Hub when all are cached.

The Hub is a real socket here: a closed port on 127.0.0.1, or a tiny HTTP server that
records every request it gets.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gkd_schema.cli.app import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hub_cache import fake_hub_model
from hub_server import FakeHub

TEACHER = ["gkd", "teacher_model_name_or_path"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


def _dry_run(write_config: Any, tmp_path: Path) -> Any:
    cfg = write_config(tmp_path, gkd={"teacher_model_name_or_path": "org/not-downloaded"})
    return CliRunner().invoke(app, ["run", str(cfg), "--dry-run", "--format", "json"], catch_exceptions=False)


def _teacher_errors(result: Any) -> list[str]:
    errors = json.loads(result.stdout or result.output)["files"][0]["errors"]
    return [e["type"] for e in errors if e["loc"] == TEACHER]


def test_a_missing_model_with_the_hub_unreachable_is_an_error(
    write_config: Any, tmp_path: Path, online: pytest.MonkeyPatch
) -> None:
    online.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    result = _dry_run(write_config, tmp_path)
    assert result.exit_code == 1
    assert _teacher_errors(result) == ["hub_unreachable"]


def test_a_missing_model_under_hf_hub_offline_is_an_error(
    write_config: Any, tmp_path: Path, online: pytest.MonkeyPatch
) -> None:
    online.setenv("HF_HUB_OFFLINE", "1")
    result = _dry_run(write_config, tmp_path)
    assert result.exit_code == 1
    assert _teacher_errors(result) == ["hub_offline_not_cached"]


def test_a_missing_model_the_hub_does_not_have_is_an_error_after_one_probe(
    write_config: Any, tmp_path: Path, online: pytest.MonkeyPatch, fake_hub: FakeHub
) -> None:
    online.setenv("HF_ENDPOINT", fake_hub.endpoint)
    result = _dry_run(write_config, tmp_path)
    assert result.exit_code == 1, result.output
    assert _teacher_errors(result) == ["hub_repo_not_found"]
    # The probe, then the file list of the missing repo (preflight fetches small files only).
    assert fake_hub.seen == ["/api/models?limit=1", "/api/models/org/not-downloaded"]


@pytest.mark.slow
def test_a_run_whose_hub_models_are_all_cached_never_asks_the_hub(
    write_config: Any,
    tmp_path: Path,
    tiny_student_dir: Path,
    tiny_teacher_dir: Path,
    fake_hub: FakeHub,
) -> None:
    cache = tmp_path / "hub"
    fake_hub_model(cache, "org/student", tiny_student_dir)
    fake_hub_model(cache, "org/teacher", tiny_teacher_dir)
    cfg = write_config(
        tmp_path,
        model={"name_or_path": "org/student"},
        gkd={"teacher_model_name_or_path": "org/teacher"},
        training={"max_steps": 2, "save_strategy": "no"},
    )
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env |= {"HF_ENDPOINT": fake_hub.endpoint, "HF_HUB_CACHE": str(cache)}
    done = subprocess.run(
        [sys.executable, "-m", "gkd_schema", "run", str(cfg)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert fake_hub.seen == [], fake_hub.seen
