"""Run without the Hugging Face Hub when preflight found every Hub model in the cache.

Even with every file cached, a run asks the Hub for adapter configs, sends TRL's
telemetry and probes for agents (seen against a recording server in
tests/runner/test_hub_access.py); without network each of those waits on retries.
This switches the Hub off for the process and its children, as `HF_HUB_OFFLINE=1`
set before start would.
"""

from __future__ import annotations

import os


def run_offline() -> None:
    """Switch the Hub off: the environment for child processes, the libraries' flags here."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from huggingface_hub import constants

    # huggingface_hub reads the variable once, at import; `is_offline_mode()` reads this.
    constants.HF_HUB_OFFLINE = True
    try:
        import datasets.config

        datasets.config.HF_HUB_OFFLINE = True
    except ImportError:  # pragma: no cover - the train extra installs datasets
        pass
