"""A minimal Language Server Protocol client over stdio, enough to drive a YAML server.

It speaks JSON-RPC with `Content-Length` framing, answers the requests a server
sends its client (configuration, capability registration, progress) and keeps
the latest diagnostics per document, so tests can ask what an editor would show.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

Message = dict[str, Any]


class LspError(RuntimeError):
    """The server answered with an error, died, or did not answer in time."""


class LspClient:
    """One language server process and the editor side of its conversation."""

    def __init__(self, command: Sequence[str], settings: Mapping[str, Any], cwd: Path) -> None:
        self._settings = dict(settings)
        self._process = subprocess.Popen(
            list(command),
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._next_id = 0
        self._lock = threading.Lock()
        self._responses: dict[int, queue.Queue[Message]] = {}
        self._diagnostics: dict[str, list[Message]] = {}
        self._diagnostics_changed = threading.Condition()
        self.stderr_lines: list[str] = []
        threading.Thread(target=self._read_messages, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # -- requests and notifications ------------------------------------------------

    def request(self, method: str, params: Any, timeout: float = 20.0) -> Any:
        """Send a request and return its result."""
        with self._lock:
            self._next_id += 1
            request_id = self._next_id
            box: queue.Queue[Message] = queue.Queue(maxsize=1)
            self._responses[request_id] = box
        self._send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        try:
            response = box.get(timeout=timeout)
        except queue.Empty:
            raise LspError(f"no answer to {method} within {timeout} s{self._tail()}") from None
        if "error" in response:
            raise LspError(f"{method} failed: {response['error']}")
        return response.get("result")

    def notify(self, method: str, params: Any) -> None:
        """Send a notification (no answer expected)."""
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def initialize(self, root: Path) -> Any:
        """The LSP handshake, with the capabilities an editor like VS Code announces."""
        result = self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": root.as_uri(),
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": {
                    "workspace": {"configuration": True, "didChangeConfiguration": {}},
                    "textDocument": {
                        "completion": {
                            "completionItem": {
                                "snippetSupport": True,
                                "documentationFormat": ["markdown", "plaintext"],
                            }
                        },
                        "hover": {"contentFormat": ["markdown", "plaintext"]},
                        "publishDiagnostics": {"relatedInformation": True},
                    },
                },
            },
        )
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": self._settings})
        return result

    def open_document(self, path: Path, text: str) -> str:
        """Open `text` as the contents of `path`; returns the document URI."""
        uri = path.as_uri()
        with self._diagnostics_changed:
            self._diagnostics.pop(uri, None)
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}},
        )
        return uri

    def close_document(self, uri: str) -> None:
        """Close a document opened with `open_document`."""
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def diagnostics(self, uri: str, timeout: float = 20.0, settle: float = 0.15) -> list[Message]:
        """The diagnostics the server publishes for `uri`, once they stop changing."""
        deadline = time.monotonic() + timeout
        with self._diagnostics_changed:
            while uri not in self._diagnostics:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LspError(f"no diagnostics for {uri} within {timeout} s{self._tail()}")
                self._diagnostics_changed.wait(remaining)
            # The server may publish twice (syntax first, then schema); wait for quiet.
            while self._diagnostics_changed.wait(settle):
                pass
            return list(self._diagnostics[uri])

    def shutdown(self) -> None:
        """Ask the server to exit and reap it."""
        try:
            self.request("shutdown", None, timeout=5.0)
            self.notify("exit", None)
            self._process.wait(timeout=5.0)
        except (LspError, OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait()

    # -- transport -------------------------------------------------------------------

    def _send(self, message: Message) -> None:
        body = json.dumps(message).encode("utf-8")
        assert self._process.stdin is not None
        with self._lock:
            self._process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self._process.stdin.flush()

    def _read_messages(self) -> None:
        stream = self._process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return  # the server exited
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value.strip())
            if length is None:
                continue
            self._dispatch(json.loads(stream.read(length)))

    def _dispatch(self, message: Message) -> None:
        if "id" in message and "method" in message:
            self._answer(message)
        elif "id" in message:
            box = self._responses.pop(message["id"], None)
            if box is not None:
                box.put(message)
        elif message.get("method") == "textDocument/publishDiagnostics":
            params = message["params"]
            with self._diagnostics_changed:
                self._diagnostics[params["uri"]] = params["diagnostics"]
                self._diagnostics_changed.notify_all()

    def _answer(self, message: Message) -> None:
        """Reply to a server-to-client request the way an editor would."""
        result: Any = None
        if message["method"] == "workspace/configuration":
            items = message["params"]["items"]
            result = [self._settings.get(item.get("section", ""), None) for item in items]
        self._send({"jsonrpc": "2.0", "id": message["id"], "result": result})

    def _read_stderr(self) -> None:
        stream = self._process.stderr
        assert stream is not None
        for line in stream:
            self.stderr_lines.append(line.decode("utf-8", "replace").rstrip())

    def _tail(self) -> str:
        tail = "\n".join(self.stderr_lines[-20:])
        return f"; server stderr:\n{tail}" if tail else ""
