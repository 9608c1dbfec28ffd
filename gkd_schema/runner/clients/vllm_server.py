"""vLLM's OpenAI-compatible server, as gkd uses it: what it serves, completions, weight reloads.

The endpoints are vLLM's own: `/v1/models`, `/tokenize`, `/v1/completions` with token-id
prompts and `return_token_ids`, and the development endpoints `/collective_rpc` and
`/reset_prefix_cache`, which exist only when the server was started with
`VLLM_SERVER_DEV_MODE=1` (gkd reloads the student's weights through them).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

DEV_MODE_HINT = "start the server with `VLLM_SERVER_DEV_MODE=1` (docs/running.md)"


class ServerError(RuntimeError):
    """The server could not be reached, was too slow, or refused a request; says which and what to do.

    Attributes:
        kind: `unreachable`, `timeout`, `refused` (an HTTP error) or `bad_reply`.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ServedModel:
    """One model a server serves: the name requests use, and what it was loaded from."""

    id: str
    root: str
    max_model_len: int | None


class VllmServer:
    """A vLLM server at `url` (`http://host:port`), with gkd's timeouts.

    Args:
        url: The server's address.
        connect_timeout_s: For quick requests (what it serves, tokenizing, the prefix cache).
        request_timeout_s: For completions and weight reloads.
    """

    def __init__(self, url: str, connect_timeout_s: float = 10.0, request_timeout_s: float = 600.0) -> None:
        self.url = url.rstrip("/")
        self.connect_timeout_s = connect_timeout_s
        self.request_timeout_s = request_timeout_s

    def _call(self, path: str, body: dict[str, Any] | None = None, *, slow: bool = False) -> Any:
        timeout = self.request_timeout_s if slow else self.connect_timeout_s
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                raw = reply.read()
        except urllib.error.HTTPError as exc:
            raise self._refused(path, exc) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(exc, TimeoutError) or isinstance(reason, TimeoutError):
                raise ServerError(
                    "timeout", f"the vLLM server at {self.url} did not answer {path} within {timeout:g} s"
                ) from exc
            raise ServerError(
                "unreachable",
                f"the vLLM server at {self.url} cannot be reached ({reason}); start it (docs/running.md "
                "shows the command) or fix `generation.vllm.server_url`",
            ) from exc
        try:
            return json.loads(raw) if raw else None
        except ValueError as exc:
            raise ServerError(
                "bad_reply", f"the server at {self.url} answered {path} with something other than JSON: "
                "is it a vLLM server?"
            ) from exc

    def _refused(self, path: str, exc: urllib.error.HTTPError) -> ServerError:
        detail = exc.read().decode("utf-8", "replace")[:300]
        dev_only = path in ("/collective_rpc", "/reset_prefix_cache")
        hint = f"; {DEV_MODE_HINT}" if exc.code == 404 and dev_only else ""
        return ServerError(
            "refused", f"the vLLM server at {self.url} answered {path} with HTTP {exc.code}: {detail}{hint}"
        )

    def models(self) -> list[ServedModel]:
        """What the server serves (`/v1/models`)."""
        reply = self._call("/v1/models")
        try:
            return [ServedModel(m["id"], m.get("root") or m["id"], m.get("max_model_len")) for m in reply["data"]]
        except (KeyError, TypeError) as exc:
            raise ServerError("bad_reply", f"the server at {self.url} lists its models in a form vLLM does not "
                              "use: is it a vLLM server?") from exc

    def tokenize(self, model: str, text: str) -> list[int]:
        """The server tokenizer's ids for `text`, without special tokens added."""
        reply = self._call("/tokenize", {"model": model, "prompt": text, "add_special_tokens": False})
        return [int(t) for t in reply["tokens"]]

    def complete(self, model: str, prompts: list[list[int]], settings: dict[str, Any]) -> list[list[int]]:
        """One completion per token-id prompt, as token ids, in the prompts' order."""
        body = {"model": model, "prompt": prompts, "return_token_ids": True, **settings}
        reply = self._call("/v1/completions", body, slow=True)
        try:
            choices = sorted(reply["choices"], key=lambda c: c["index"])
            out = [[int(t) for t in c["token_ids"]] for c in choices]
        except (KeyError, TypeError) as exc:
            raise ServerError("bad_reply", f"the server at {self.url} returned completions without token "
                              "ids; gkd needs vLLM 0.10.2 or newer") from exc
        if len(out) != len(prompts):
            raise ServerError("bad_reply", f"asked for {len(prompts)} completions, got {len(out)}")
        return out

    def reload_weights(self, weights_path: str) -> None:
        """Have every worker reload its weights from the checkpoint folder `weights_path`."""
        self._call(
            "/collective_rpc",
            {"method": "reload_weights", "kwargs": {"weights_path": weights_path, "is_checkpoint_format": True}},
            slow=True,
        )

    def reset_prefix_cache(self) -> None:
        """Drop the KV cache of prefixes computed with the old weights."""
        self._call("/reset_prefix_cache", {})
