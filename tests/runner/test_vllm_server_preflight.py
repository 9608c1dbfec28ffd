"""`mode: server` before any weights load: a server that is down, silent, or refuses, as located errors.

What a real vLLM server serves (the model, its tokenizer, its length) is checked against
one in `tests/with_vllm/`; here, the failures of the connection itself: a closed port, a
server that accepts and never answers, and one without the endpoints weight syncs use.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from ports import free_port
from typer.testing import CliRunner

from gkd_schema.cli.app import app
from gkd_schema.runner.clients.vllm_server import ServerError, VllmServer


def _server(url: str, **extra: Any) -> dict[str, Any]:
    return {"backend": "vllm", "vllm": {"mode": "server", "server_url": url, "connect_timeout_s": 0.5, **extra}}


def _deep(cfg: Path) -> tuple[int, list[dict[str, Any]]]:
    result = CliRunner().invoke(app, ["validate", "--deep", str(cfg), "--format", "json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout or result.output)["files"][0]["errors"]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield int(listener.getsockname()[1])
    listener.close()


@pytest.fixture
def dev_mode_off(tiny_student_dir: Path) -> Iterator[str]:
    """An HTTP server that lists the student as vLLM does and has no development endpoints."""
    yield from _stub(tiny_student_dir, dev_mode=False)


@pytest.fixture
def dev_mode_on(tiny_student_dir: Path) -> Iterator[str]:
    """... with the development endpoints, and no weight-transfer engine."""
    yield from _stub(tiny_student_dir, dev_mode=True)


def _stub(tiny_student_dir: Path, *, dev_mode: bool) -> Iterator[str]:

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, code: int, body: Any) -> None:
            raw = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            if dev_mode and self.path.startswith("/server_info"):
                return self._reply(200, {"vllm_config": {"weight_transfer_config": None}})
            model = {"id": str(tiny_student_dir), "root": str(tiny_student_dir), "max_model_len": 512}
            self._reply(200, {"object": "list", "data": [model]})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/tokenize":
                from transformers import AutoTokenizer

                tok = AutoTokenizer.from_pretrained(str(tiny_student_dir))
                self._reply(200, {"tokens": tok(body["prompt"], add_special_tokens=False)["input_ids"]})
            elif dev_mode and self.path == "/reset_prefix_cache":
                self._reply(200, {})
            elif dev_mode and self.path == "/init_weight_transfer_engine":  # as vLLM answers without an engine
                self._reply(500, {"detail": "Internal Server Error"})
            else:
                self._reply(404, {"detail": "Not Found"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_server_that_is_down_is_an_error_at_server_url(write_config: Any, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, errors = _deep(write_config(tmp_path, generation=_server(url)))
    assert code == 1
    error = next(e for e in errors if e["type"] == "vllm_server_unreachable")
    assert error["loc"] == ["generation", "vllm", "server_url"] and error["line"] is not None
    assert url in error["message"] and "docs/running.md" in error["message"]


def test_a_server_that_does_not_answer_in_time_is_an_error(
    write_config: Any, tmp_path: Path, silent_port: int
) -> None:
    code, errors = _deep(write_config(tmp_path, generation=_server(f"http://127.0.0.1:{silent_port}")))
    assert code == 1
    error = next(e for e in errors if e["type"] == "vllm_server_timeout")
    assert "did not answer /v1/models within 0.5 s" in error["message"]


def test_a_server_without_the_weight_sync_endpoints_says_how_to_start_it(
    write_config: Any, tmp_path: Path, dev_mode_off: str
) -> None:
    code, errors = _deep(write_config(tmp_path, generation=_server(dev_mode_off)))
    assert code == 1, errors
    assert [e["type"] for e in errors] == ["vllm_server_refused"]
    assert "HTTP 404" in errors[0]["message"] and "VLLM_SERVER_DEV_MODE=1" in errors[0]["message"]


def test_a_broadcast_to_a_server_without_a_weight_transfer_engine_says_how_to_start_it(
    write_config: Any, tmp_path: Path, dev_mode_on: str
) -> None:
    assert _deep(write_config(tmp_path, generation=_server(dev_mode_on)))[0] == 0  # a checkpoint needs none
    code, errors = _deep(write_config(tmp_path, generation=_server(dev_mode_on, weight_sync="gloo")))
    assert code == 1
    error = next(e for e in errors if e["type"] == "vllm_server_weight_transfer_mismatch")
    assert error["loc"] == ["generation", "vllm", "weight_sync"] and error["line"] is not None
    assert "was started without a weight-transfer engine" in error["message"]
    assert """--weight-transfer-config '{"backend": "gkd_gloo"}'""" in error["message"]


def test_a_handshake_the_server_refuses_says_which_engine_to_start_it_with(dev_mode_on: str) -> None:
    with pytest.raises(ServerError) as caught:
        VllmServer(dev_mode_on, 0.5, 5.0).init_weight_transfer_engine({"world_size": 2})
    assert caught.value.kind == "refused" and "HTTP 500" in str(caught.value)
    assert "start it with the weight-transfer engine `weight_sync` names (`--weight-transfer-config`)" in str(
        caught.value
    )


def test_server_mode_needs_no_local_vllm_and_no_head_size_check(
    write_config: Any, tmp_path: Path, dev_mode_off: str
) -> None:
    _, errors = _deep(write_config(tmp_path, generation=_server(dev_mode_off)))
    assert not {"vllm_not_installed", "vllm_head_dim_unsupported"} & {e["type"] for e in errors}


def test_the_client_gives_up_on_a_silent_server_after_its_timeout(silent_port: int) -> None:
    with pytest.raises(ServerError) as caught:
        VllmServer(f"http://127.0.0.1:{silent_port}", connect_timeout_s=0.2).models()
    assert caught.value.kind == "timeout"
