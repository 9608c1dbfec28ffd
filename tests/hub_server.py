"""A tiny Hugging Face Hub on 127.0.0.1 that serves local folders as model repos and records each request.

It speaks the part of the Hub's protocol `huggingface_hub` uses to list a repo and
download files from it, so the code under test runs its real client over a real socket:

- `GET /api/models/{repo}[/revision/{rev}]`: `sha` and `siblings` (the file list);
- `HEAD` / `GET /{repo}/resolve/{rev}/{file}`: `X-Repo-Commit`, `ETag`, `Content-Length`
  and the bytes;
- errors as the Hub sends them (`X-Error-Code: RepoNotFound`, `GatedRepo`,
  `RevisionNotFound`, `EntryNotFound`). Anything else, the reachability probe included,
  is a 404.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub_cache import COMMIT

_INFO = re.compile(r"^/api/models/(?P<repo>[^/?]+/[^/?]+)(?:/revision/(?P<rev>[^/?]+))?(?:\?|$)")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>[^?]+)")


@dataclass
class FakeHub:
    """The server's state: the repos it serves and the paths it was asked for.

    Attributes:
        endpoint: `http://127.0.0.1:PORT`, for `HF_ENDPOINT`.
        repos: Repo id -> the folder whose files it serves.
        gated: Repo ids whose files need access the client does not have.
        seen: Every request path, in order.
    """

    endpoint: str = ""
    repos: dict[str, Path] = field(default_factory=dict)
    gated: set[str] = field(default_factory=set)
    seen: list[str] = field(default_factory=list)

    def requested(self, suffix: str) -> list[str]:
        """The requested paths that end with `suffix`."""
        return [path for path in self.seen if path.split("?")[0].endswith(suffix)]


def _handler(hub: FakeHub) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(body)

        def _error(self, status: int, code: str) -> None:
            self._send(status, headers={"X-Error-Code": code, "X-Repo-Commit": COMMIT})

        def _info(self, repo: str, rev: str) -> None:
            if repo not in hub.repos:
                return self._error(404, "RepoNotFound")
            if rev not in ("main", COMMIT):
                return self._error(404, "RevisionNotFound")
            files = sorted(p.name for p in hub.repos[repo].iterdir() if p.is_file())
            body = {"id": repo, "sha": COMMIT, "private": False, "siblings": [{"rfilename": f} for f in files]}
            self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

        def _resolve(self, repo: str, rev: str, name: str) -> None:
            if repo not in hub.repos:
                return self._error(404, "RepoNotFound")
            if repo in hub.gated:
                return self._error(403, "GatedRepo")
            path = hub.repos[repo] / name
            if rev not in ("main", COMMIT) or not path.is_file():
                return self._error(404, "EntryNotFound")
            data = path.read_bytes()
            etag = f'"{hashlib.sha256(data).hexdigest()}"'
            self._send(200, data, {"X-Repo-Commit": COMMIT, "ETag": etag})

        def _answer(self) -> None:
            hub.seen.append(self.path)
            if match := _INFO.match(self.path):
                return self._info(match["repo"], match["rev"] or "main")
            if match := _RESOLVE.match(self.path):
                return self._resolve(match["repo"], match["rev"], match["file"])
            return self._send(404)

        do_GET = do_HEAD = _answer

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serve_hub() -> Iterator[FakeHub]:
    """Run a `FakeHub` on an ephemeral port for the duration of the block."""
    hub = FakeHub()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    hub.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
