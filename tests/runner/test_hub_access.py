"""Hub models: fail in seconds when a missing one cannot be downloaded; never wait on the Hub when all are cached.

The Hub is a real socket here: a closed port on 127.0.0.1, or a tiny HTTP server that
records every request it gets.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gkd_schema.cli.app import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hub_cache import fake_hub_model

TEACHER = ["gkd", "teacher_model_name_or_path"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


@pytest.fixture
def recording_hub() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server that answers 404 to everything and records the paths asked for."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            seen.append(self.path)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No offline switch (the suite sets one) and an empty Hub cache."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    return monkeypatch


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


def test_a_missing_model_with_the_hub_reachable_is_left_to_the_download(
    write_config: Any, tmp_path: Path, online: pytest.MonkeyPatch, recording_hub: tuple[str, list[str]]
) -> None:
    endpoint, seen = recording_hub
    online.setenv("HF_ENDPOINT", endpoint)
    result = _dry_run(write_config, tmp_path)
    assert result.exit_code == 0, result.output
    assert seen == ["/api/models?limit=1"]  # one probe, nothing downloaded by preflight


@pytest.mark.slow
def test_a_run_whose_hub_models_are_all_cached_never_asks_the_hub(
    write_config: Any,
    tmp_path: Path,
    tiny_student_dir: Path,
    tiny_teacher_dir: Path,
    recording_hub: tuple[str, list[str]],
) -> None:
    endpoint, seen = recording_hub
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
    env |= {"HF_ENDPOINT": endpoint, "HF_HUB_CACHE": str(cache)}
    done = subprocess.run(
        [sys.executable, "-m", "gkd_schema", "run", str(cfg)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert seen == [], seen
