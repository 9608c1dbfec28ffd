"""vLLM's OpenAI-compatible server, as gkd uses it: what it serves, completions, weight reloads.

The endpoints are vLLM's own: `/v1/models`, `/tokenize`, `/v1/completions` with token-id
prompts (`return_token_ids` for sampled completions, `prompt_logprobs` for a teacher's
log-probs of given tokens), and the development endpoints `/collective_rpc` and
`/reset_prefix_cache`, which exist only when the server was started with
`VLLM_SERVER_DEV_MODE=1` (gkd reloads the student's weights through them).

TRL's `VLLMClient` speaks the same endpoints, but its requests have no read timeout and
its failures are bare `Exception`s; gkd needs both to stop a run with what to do.
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

_DEV_ROUTES = frozenset({
    "/collective_rpc", "/reset_prefix_cache", "/get_world_size", "/server_info?config_format=json",
    "/init_weight_transfer_engine", "/start_weight_update", "/update_weights", "/finish_weight_update",
    "/shutdown_weight_transfer_engine",
})
DEV_MODE_HINT = "start the server with `VLLM_SERVER_DEV_MODE=1` (docs/running.md)"


class ServerError(RuntimeError):
    """The server could not be reached, was too slow, or refused a request; says which and what to do.

    Attributes:
        kind: `unreachable`, `timeout`, `refused` (an HTTP error), `bad_reply`, or `another_model`
            (the server serves another model than the one named).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = 0  # the HTTP status of a refusal


@dataclass(frozen=True)
class ServedModel:
    """One model a server serves: the name requests use, and what it was loaded from."""

    id: str
    root: str
    max_model_len: int | None


# Seconds before each retry of a request that found no server or a server-side error:
# enough for a restarting load balancer, short against a training step.
RETRY_DELAYS_S = (1.0, 3.0)


class VllmServer:
    """A vLLM server at `url` (`http://host:port`), with gkd's timeouts.

    Args:
        url: The server's address.
        connect_timeout_s: For quick requests (what it serves, tokenizing, the prefix cache).
        request_timeout_s: For completions and weight reloads.
        key: The config key that names the server, for the messages.
        retries: How often an idempotent request is sent again after the server could not
            be reached or answered HTTP 500-503 (waiting `RETRY_DELAYS_S` in between).
    """

    def __init__(
        self,
        url: str,
        connect_timeout_s: float = 10.0,
        request_timeout_s: float = 600.0,
        *,
        key: str = "generation.vllm.server_url",
        retries: int = 0,
    ) -> None:
        self.url = url.rstrip("/")
        self.connect_timeout_s = connect_timeout_s
        self.request_timeout_s = request_timeout_s
        self.key = key
        self.retries = retries

    def _call(self, path: str, body: dict[str, Any] | None = None, *, slow: bool = False, retry: bool = False) -> Any:
        attempts = self.retries + 1 if retry else 1
        for attempt in range(attempts):
            try:
                return self._call_once(path, body, slow=slow)
            except ServerError as exc:
                transient = exc.kind == "unreachable" or getattr(exc, "status", 0) in (500, 502, 503)
                if not transient or attempt == attempts - 1:
                    raise
                time.sleep(RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S) - 1)])
        raise AssertionError("unreachable")  # the loop returns or raises

    def _call_once(self, path: str, body: dict[str, Any] | None, *, slow: bool) -> Any:
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
                f"shows the command) or fix `{self.key}`",
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
        dev_only = path in _DEV_ROUTES
        hint = f"; {DEV_MODE_HINT}" if exc.code == 404 and dev_only else ""
        if exc.code == 500 and path == "/init_weight_transfer_engine":  # vLLM's answer without an engine
            hint = (
                "; start it with the weight-transfer engine `weight_sync` names (`--weight-transfer-config`), "
                "and check that its workers can reach `weight_sync_host` and `weight_sync_port`"
            )
        error = ServerError(
            "refused", f"the vLLM server at {self.url} answered {path} with HTTP {exc.code}: {detail}{hint}"
        )
        error.status = exc.code
        return error

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

    def prompt_logprobs(self, model: str, prompts: list[list[int]], k: int) -> list[list[dict[int, float] | None]]:
        """The server model's top `k` log-probs at every position of each token-id prompt.

        One request for all prompts (the server batches them), `max_tokens: 1`, temperature 1,
        retried like a reload: scoring given tokens has no side effects.

        Returns:
            Per prompt, per position, `{token id: log-prob}` of the `k` best-ranked tokens
            (the prompt's own token is left out when it ranks below them); None at the first
            position, which nothing predicts. A NaN log-prob reads as `-inf`.
        """
        body = {"model": model, "prompt": prompts, "max_tokens": 1, "temperature": 1.0, "prompt_logprobs": k}
        reply = self._call("/v1/completions", body, slow=True, retry=True)
        try:
            choices = sorted(reply["choices"], key=lambda c: c["index"])
            out = [[_top_entries(p, k) for p in c["prompt_logprobs"]] for c in choices]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ServerError("bad_reply", f"the server at {self.url} returned no prompt log-probs: is it a "
                              "vLLM server?") from exc
        if len(out) != len(prompts) or any(len(o) != len(p) for o, p in zip(out, prompts, strict=False)):
            raise ServerError("bad_reply", f"asked for the log-probs of {len(prompts)} prompts, got others")
        return out

    def reload_weights(self, weights_path: str) -> None:
        """Have every worker reload its weights from the checkpoint folder `weights_path`."""
        self._call(
            "/collective_rpc",
            {"method": "reload_weights", "kwargs": {"weights_path": weights_path, "is_checkpoint_format": True}},
            slow=True,
        )

    def world_size(self) -> int:
        """The server's workers across its parallel groups (`/get_world_size`, development mode)."""
        reply = self._call("/get_world_size")
        try:
            return int(reply["world_size"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ServerError("bad_reply", f"the server at {self.url} did not say its world size") from exc

    def weight_transfer_backend(self) -> str | None:
        """The backend of the server's weight-transfer engine (`--weight-transfer-config`); None without one.

        Read from `/server_info` (development mode), which also gathers the server's system
        information once: a slow request.
        """
        reply = self._call("/server_info?config_format=json", slow=True)
        try:
            transfer = reply["vllm_config"].get("weight_transfer_config")
        except (KeyError, TypeError, AttributeError) as exc:
            raise ServerError("bad_reply", f"the server at {self.url} did not describe its configuration") from exc
        return str(transfer["backend"]) if isinstance(transfer, dict) and "backend" in transfer else None

    # vLLM's weight-transfer routes (development mode), as its trainer engines call them.
    def init_weight_transfer_engine(self, init_info: dict[str, Any]) -> None:
        """Have every worker join the trainer's transfer group (blocks until the group is complete)."""
        self._call("/init_weight_transfer_engine", {"init_info": init_info}, slow=True)

    def start_weight_update(self) -> None:
        self._call("/start_weight_update", {}, slow=True)

    def update_weights(self, update_info: dict[str, Any] | list[dict[str, Any]]) -> None:
        """Have every worker receive the tensors `update_info` lists (blocks until they arrived)."""
        self._call("/update_weights", {"update_info": update_info}, slow=True)

    def finish_weight_update(self, weight_version: str | None = None) -> None:
        self._call("/finish_weight_update", {} if weight_version is None else {"weight_version": weight_version},
                   slow=True)

    def shutdown_weight_transfer_engine(self) -> None:
        """Have the workers leave the transfer group (they keep serving)."""
        self._call("/shutdown_weight_transfer_engine", {})

    def reset_prefix_cache(self) -> None:
        """Drop the KV cache of prefixes computed with the old weights."""
        self._call("/reset_prefix_cache", {})


def _top_entries(position: dict[str, Any] | None, k: int) -> dict[int, float] | None:
    """The `k` best-ranked entries of one position of vLLM's `prompt_logprobs`."""
    if position is None:
        return None
    ranked = sorted(position.items(), key=lambda item: item[1]["rank"])[:k]
    return {int(t): -math.inf if math.isnan(e["logprob"]) else float(e["logprob"]) for t, e in ranked}
