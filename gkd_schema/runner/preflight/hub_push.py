"""Whether a run with `training.push_to_hub` can push: a Hub token, and the Hub not switched off.

transformers creates the repo when the trainer is built (after both models have loaded)
and pushes at every save and at the end; without a token or offline, each of those
fails. So both are errors here, before anything loads. Only the token's presence is
checked (the environment and the token file, no request): whether it may write to the
repo only the Hub can say, at the first push.
"""

from __future__ import annotations

from gkd_schema.config.diagnostics import Diagnostic
from gkd_schema.models.training_section import TrainingSection
from gkd_schema.runner.preflight.hub_access import HubAccess

_LOC = ("training", "push_to_hub")
_LATER = "or set `push_to_hub: false` and upload the run later with `hf upload REPO OUTPUT_DIR`"


def hub_token_configured() -> bool:
    """Whether huggingface_hub finds a token: `HF_TOKEN`, then the file `hf auth login` writes."""
    from huggingface_hub import get_token

    return get_token() is not None


def check_push(training: TrainingSection, hub: HubAccess) -> list[Diagnostic]:
    """An error when `push_to_hub` is on and the push could not happen.

    Args:
        training: The config's `training` section.
        hub: Whether this command may use the Hub (`--offline`, `HF_HUB_OFFLINE`).

    Returns:
        `hub_push_offline` when the Hub is switched off, else `hub_token_missing` when
        no token is configured; nothing when `push_to_hub` is off or both are fine.
    """
    if not training.push_to_hub:
        return []
    if hub.offline:
        setting, undo = hub.offline_setting()
        message = f"`push_to_hub` is true but {setting}, so nothing can be uploaded; {undo}, {_LATER}"
        return [Diagnostic(_LOC, message, "hub_push_offline")]
    if not hub_token_configured():
        message = (
            "`push_to_hub` is true but no Hugging Face token is configured (`HF_TOKEN` is unset and "
            "`hf auth login` has not been run), so the trainer could not create the repo; log in with "
            f"`hf auth login` (a token with write access) or set `HF_TOKEN`, {_LATER}"
        )
        return [Diagnostic(_LOC, message, "hub_token_missing")]
    return []
