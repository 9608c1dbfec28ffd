"""A transformers-backed stand-in for a vLLM teacher server, for unit tests only.

It answers the requests gkd sends a teacher server (`/v1/models`, `/tokenize`,
`/v1/completions` with `prompt_logprobs`) in vLLM's reply format, from a local causal LM
in float32, so that unit tests can check alignment, preflight and the run without vLLM.
The real server is tested in `tests/with_vllm/` (CI runs both).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class StubSettings:
    """How the stand-in behaves: what it claims to serve, its cap on K, and faults to inject."""

    served_name: str | None = None  # default: the model folder, as `vllm serve DIR` names it
    max_logprobs: int = 20
    max_model_len: int = 2048
    delay_s: float = 0.0  # before every completions answer
    not_json: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)


class _Model:
    def __init__(self, model_dir: Path, tokenizer_dir: Path | None) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir or model_dir))
        self.lock = threading.Lock()

    def prompt_logprobs(self, ids: list[int], k: int) -> list[dict[str, dict[str, Any]] | None]:
        torch = self.torch
        with self.lock, torch.no_grad():
            logits = self.model(input_ids=torch.tensor([ids])).logits[0].float()
        logp = torch.log_softmax(logits, dim=-1)
        out: list[dict[str, dict[str, Any]] | None] = [None]
        for i in range(1, len(ids)):
            row = logp[i - 1]
            order = torch.argsort(row, descending=True)
            ranks = {int(t): r + 1 for r, t in enumerate(order[:k].tolist())}
            actual = ids[i]
            if actual not in ranks:
                ranks[actual] = int((row > row[actual]).sum()) + 1
            out.append({str(t): {"logprob": float(row[t]), "rank": r, "decoded_token": ""} for t, r in ranks.items()})
        return out


def _handler(model: _Model, settings: StubSettings, name: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: Any) -> None:
            raw = b"<html>not json</html>" if settings.not_json else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            if self.path == "/v1/models":
                card = {"id": name, "root": name, "max_model_len": settings.max_model_len}
                self._reply(200, {"object": "list", "data": [card]})
            else:
                self._reply(200 if self.path == "/health" else 404, {})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            settings.requests.append({"path": self.path, **body})
            if self.path == "/tokenize":
                ids = model.tokenizer(body["prompt"], add_special_tokens=body.get("add_special_tokens", True))
                self._reply(200, {"tokens": ids["input_ids"]})
            elif self.path == "/v1/completions":
                self._completions(body)
            else:
                self._reply(404, {"error": {"message": "Not Found"}})

        def _completions(self, body: dict[str, Any]) -> None:
            k = int(body["prompt_logprobs"])
            if k > settings.max_logprobs:
                cap = settings.max_logprobs
                message = f"Requested prompt logprobs of {k}, which is greater than max allowed: {cap}"
                self._reply(400, {"error": {"message": message, "type": "BadRequestError", "code": 400}})
                return
            time.sleep(settings.delay_s)
            choices = [
                {"index": i, "text": "", "prompt_logprobs": model.prompt_logprobs(list(p), k)}
                for i, p in enumerate(body["prompt"])
            ]
            self._reply(200, {"object": "text_completion", "choices": choices})

    return Handler


@dataclass
class StubServer:
    url: str
    settings: StubSettings
    server: ThreadingHTTPServer

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def teacher_server_stub(
    model_dir: Path, settings: StubSettings | None = None, *, tokenizer_dir: Path | None = None
) -> Iterator[StubServer]:
    """Serve `model_dir` as a teacher on a free loopback port until the block ends."""
    settings = settings or StubSettings()
    model = _Model(model_dir, tokenizer_dir)
    name = settings.served_name or str(model_dir)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(model, settings, name))
    # Handler threads are joined when the server closes: one still in the model's forward
    # pass at interpreter exit (a request its client gave up on) would abort the process.
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stub = StubServer(f"http://127.0.0.1:{server.server_address[1]}", settings, server)
    try:
        yield stub
    finally:
        stub.stop()


__all__ = ["StubServer", "StubSettings", "teacher_server_stub"]
