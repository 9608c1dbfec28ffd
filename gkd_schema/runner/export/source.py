"""What a run directory holds to export: the final model or a checkpoint, adapter or full weights.

Only reads files (no torch). The base model of an adapter comes from `--base`, else the
run's newest resolved config (`gkd_config.yaml`: `model.name_or_path`, `revision`,
`trust_remote_code`), else the adapter's own `adapter_config.json`; it is found as
`gkd run` finds models (a local folder, or the local Hub cache, never the network).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gkd_schema.config.validation import validate_file
from gkd_schema.models import RunConfig
from gkd_schema.runner.preflight.locate import (
    TOKENIZER_FILES,
    WEIGHT_PATTERNS,
    cached_snapshot,
    hub_cache_dir,
    is_local_model,
    resolve_path,
)
from gkd_schema.runner.preflight.output_plan import (
    CHECKPOINT_RE,
    config_history,
    is_complete_checkpoint,
    newest_checkpoint,
)

ADAPTER_CONFIG = "adapter_config.json"
LATEST = "latest"


class ExportError(Exception):
    """Nothing exportable where the command points, or the target is unusable; the message says why."""


@dataclass(frozen=True)
class ExportSource:
    """The saved model to export.

    Attributes:
        directory: The run directory or one of its checkpoints.
        kind: `adapter` (a PEFT LoRA adapter) or `full` (all weights).
        base: The adapter's base model folder (a local folder or a cached Hub snapshot);
            None for full weights.
        base_label: The base as written (`--base`, the config or the adapter), for messages.
        tokenizer: The folder the tokenizer is read from: the saved one, else the base's.
        trust_remote_code: The run's `model.trust_remote_code`.
    """

    directory: Path
    kind: Literal["adapter", "full"]
    base: Path | None
    base_label: str | None
    tokenizer: Path
    trust_remote_code: bool


def checkpoint_dir(run_dir: Path, checkpoint: str | None) -> Path:
    """The folder to export: `run_dir` itself, its newest checkpoint (`latest`) or a named one.

    Raises:
        ExportError: The run has no final model and no checkpoint was asked for, or the
            named checkpoint is missing or incomplete.
    """
    if checkpoint is None:
        if _model_kind(run_dir) is not None:
            return run_dir
        newest = newest_checkpoint(run_dir)
        hint = f"; export its newest checkpoint with --checkpoint latest ({newest.name})" if newest else ""
        raise ExportError(
            f"{run_dir} holds no saved model ({ADAPTER_CONFIG} or config.json with weights): "
            f"it is not a finished `gkd run` output_dir{hint}"
        )
    chosen = newest_checkpoint(run_dir) if checkpoint == LATEST else run_dir / checkpoint
    if chosen is None or not CHECKPOINT_RE.match(chosen.name) or not is_complete_checkpoint(chosen):
        complete = sorted(
            p.name for p in run_dir.iterdir() if CHECKPOINT_RE.match(p.name) and is_complete_checkpoint(p)
        )
        have = f"complete ones: {', '.join(complete)}" if complete else "it has no complete checkpoint"
        raise ExportError(f"{run_dir} has no complete checkpoint `{checkpoint}` ({have})")
    return chosen


def _model_kind(directory: Path) -> Literal["adapter", "full"] | None:
    """What a folder holds: a LoRA adapter, full weights, or neither."""
    if (directory / ADAPTER_CONFIG).is_file():
        return "adapter"
    if (directory / "config.json").is_file() and any(next(directory.glob(p), None) for p in WEIGHT_PATTERNS):
        return "full"
    return None


def _run_config(run_dir: Path) -> RunConfig | None:
    """The run's newest resolved config, if it is there and still validates."""
    history = config_history(run_dir)
    if not history:
        return None
    return validate_file(history[-1], environ={}).config


def _adapter_base(directory: Path) -> tuple[str | None, str | None]:
    """`base_model_name_or_path` and `revision` from an adapter's own config."""
    try:
        data = json.loads((directory / ADAPTER_CONFIG).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ExportError(f"{directory / ADAPTER_CONFIG} is unreadable: {exc}") from None
    base, revision = data.get("base_model_name_or_path"), data.get("revision")
    return (base if isinstance(base, str) and base else None), (revision if isinstance(revision, str) else None)


def find_source(run_dir: Path, *, checkpoint: str | None, base: str | None, base_dir: Path) -> ExportSource:
    """Find what `gkd export RUN_DIR` exports, and the base model an adapter needs.

    Args:
        run_dir: A `gkd run` output_dir.
        checkpoint: `--checkpoint`: None (the final model), `latest` or `checkpoint-N`.
        base: `--base`: the adapter's base model instead of the one the run recorded.
        base_dir: Where relative model paths start (the working directory, as in `gkd run`).

    Returns:
        The source. Nothing is loaded.

    Raises:
        ExportError: No model, no complete checkpoint, or the base model is not on this machine.
    """
    directory = checkpoint_dir(run_dir, checkpoint)
    kind = _model_kind(directory)
    if kind is None:
        raise ExportError(f"{directory} holds neither a LoRA adapter ({ADAPTER_CONFIG}) nor config.json with weights")
    config = _run_config(run_dir)
    trust = config.model.trust_remote_code if config is not None else False
    saved_tokenizer = any((directory / name).is_file() for name in TOKENIZER_FILES)
    if kind == "full":
        if not saved_tokenizer:
            raise ExportError(f"{directory} holds weights but no tokenizer (none of {', '.join(TOKENIZER_FILES)})")
        return ExportSource(directory, "full", None, None, directory, trust)
    label, revision = _adapter_base(directory)
    if config is not None:
        label, revision = config.model.name_or_path, config.model.revision
    label = base or label
    if label is None:
        raise ExportError(f"{directory / ADAPTER_CONFIG} names no base model; pass it with --base PATH_OR_ID")
    found = locate_base(label, revision=None if base else revision, base_dir=base_dir)
    return ExportSource(directory, "adapter", found, label, directory if saved_tokenizer else found, trust)


def locate_base(label: str, *, revision: str | None, base_dir: Path) -> Path:
    """The folder of an adapter's base model: a local one, or its snapshot in the Hub cache.

    Raises:
        ExportError: It is not there, or holds no full model; the message says what to do.
    """
    if is_local_model(label, base_dir):
        folder = resolve_path(label, base_dir)
        if _model_kind(folder) != "full":
            raise ExportError(
                f"the adapter's base model {label} (resolved to {folder}) is not a model folder with "
                "config.json and weights; run gkd export from the directory `gkd run` ran in, or pass "
                "--base PATH_OR_ID"
            )
        return folder
    snapshot = cached_snapshot(label, "config.json", revision)
    if snapshot is None or _model_kind(snapshot) != "full":
        at = f" at revision {revision}" if revision else ""
        raise ExportError(
            f"the adapter's base model {label}{at} is not in the local Hugging Face cache ({hub_cache_dir()}) "
            f"with its weights, and gkd export never downloads; run `hf download {label}` first, or pass "
            "--base PATH_OR_ID"
        )
    return snapshot
