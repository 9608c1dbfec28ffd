"""Whether the Hugging Face Hub may be used, for models and datasets preflight found not cached.

A model that is not in the local cache is downloaded by `from_pretrained`; with the Hub
unreachable, that fails only after about a minute of retries, after the other model may
already have loaded. Preflight knows which models are missing, so it asks the Hub once,
with a short timeout, and turns "not cached" into an error when the download cannot
happen (no network, `--offline` or `HF_HUB_OFFLINE=1`). When every Hub model is cached,
the run switches the Hub off (`runner/train/hub_offline.py`), so it never waits on the
network.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import cached_property

from gkd_schema.config.diagnostics import Diagnostic

PROBE_TIMEOUT_S = 3.0


def hub_endpoint() -> str:
    """The Hub's address, `HF_ENDPOINT` read at call time (huggingface_hub fixes it at import)."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def hub_offline() -> bool:
    """Whether the user switched the Hub off (`HF_HUB_OFFLINE` or `TRANSFORMERS_OFFLINE`)."""
    names = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    return any(os.environ.get(name, "").upper() in ("1", "ON", "YES", "TRUE") for name in names)


def unreachable(endpoint: str, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """Why `endpoint` cannot be reached, or None when it answers (any HTTP status)."""
    try:
        with urllib.request.urlopen(f"{endpoint}/api/models?limit=1", timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None  # it answered
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return str(reason) or type(exc).__name__


@dataclass
class HubAccess:
    """Whether this command may download from the Hub; the Hub itself is asked at most once.

    Attributes:
        offline_flag: `--offline` was given.
    """

    offline_flag: bool = False

    @property
    def offline(self) -> bool:
        """Nothing may be downloaded: `--offline`, `HF_HUB_OFFLINE` or `TRANSFORMERS_OFFLINE`."""
        return self.offline_flag or hub_offline()

    @cached_property
    def unreachable_reason(self) -> str | None:
        """Why the Hub cannot be reached (one probe, remembered), or None when it answers."""
        return unreachable(hub_endpoint())

    def offline_setting(self) -> tuple[str, str]:
        """What switched the Hub off, in words, and how to undo it (when `offline`)."""
        if self.offline_flag:
            return "`--offline` is given", "drop `--offline`"
        return "`HF_HUB_OFFLINE` is set", "unset `HF_HUB_OFFLINE`"

    def usable(self) -> bool:
        """Whether a download may be tried: online, and the Hub answers."""
        return not self.offline and self.unreachable_reason is None


def _message(found: Diagnostic, why: str, undo: str) -> str:
    return (
        f"{found.message.split(';')[0]}, and {why}: download it where there is network "
        "(`hf download REPO`) into this machine's Hugging Face cache, point the key at a "
        f"local folder, or {undo}"
    )


def check_hub_access(not_cached: list[Diagnostic], hub: HubAccess) -> list[Diagnostic]:
    """An error per not-cached Hub model or dataset that the run could not download.

    Args:
        not_cached: What the run would download, each at its key (`not_cached` diagnostics).
        hub: Whether the Hub may be used.

    Returns:
        `hub_offline_not_cached` or `hub_unreachable` errors at the same keys; nothing
        when the downloads can happen.
    """
    if not not_cached:
        return []
    if hub.offline:
        setting, undo = hub.offline_setting()
        why = f"{setting}, so nothing can be downloaded"
        return [Diagnostic(d.loc, _message(d, why, undo), "hub_offline_not_cached") for d in not_cached]
    reason = hub.unreachable_reason
    if reason is None:
        return []
    why = f"the Hub at {hub_endpoint()} cannot be reached ({reason})"
    return [Diagnostic(d.loc, _message(d, why, "fix the connection"), "hub_unreachable") for d in not_cached]
