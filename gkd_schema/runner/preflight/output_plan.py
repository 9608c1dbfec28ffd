"""Decide what a run may do with its output directory, and find checkpoints to resume.

A non-empty output directory is written into only when the run resumes from it
(`training.resume`) or the user passed `--overwrite`. A checkpoint counts only when
complete: the HF Trainer writes `trainer_state.json` last, so a checkpoint cut off
by Ctrl-C or a crash is skipped rather than resumed from. This module only reads;
the train stage clears a previous run (`runner/train/output_dir.py`) once planned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gkd_schema.config.diagnostics import Diagnostic

CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
# The resolved config of each resume that changed a setting: gkd_config.1.yaml, ...
CONFIG_HISTORY_RE = re.compile(r"^gkd_config\.(\d+)\.yaml$")
TRAINER_STATE = "trainer_state.json"
RESOLVED_CONFIG = "gkd_config.yaml"

# What a gkd run writes at the top of output_dir; `--overwrite` removes only these
# (and checkpoints), never files it did not make.
RUN_ARTIFACTS = (
    RESOLVED_CONFIG,
    TRAINER_STATE,
    "train_results.json",
    "eval_results.json",
    "all_results.json",
    "training_args.bin",
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "adapter_config.json",
    "adapter_model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "README.md",
    "on_policy_decisions",
    "runs",
    "gkd_eval.json",  # runner/eval/run_hooks.py
    "training_curves.png",  # runner/eval/plotting.py
)


class OutputDirError(Exception):
    """The output directory may not be used as the config asks."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


@dataclass(frozen=True)
class OutputPlan:
    """What the run does with `output_dir`.

    Attributes:
        output_dir: The directory.
        resume_from: Checkpoint to resume from, or None for a fresh start.
        clear_previous: Remove a previous run's artifacts first (`--overwrite`, or a
            run that stopped before its first checkpoint).
        replaces_unstarted: What is removed is a run that stopped before its first
            checkpoint (no `--overwrite` needed).
    """

    output_dir: Path
    resume_from: Path | None
    clear_previous: bool
    replaces_unstarted: bool = False


def config_history(output_dir: Path) -> list[Path]:
    """The resolved configs a run wrote, oldest first: `gkd_config.yaml`, then one per changed resume."""
    if not output_dir.is_dir():
        return []
    numbered = sorted(
        (int(match.group(1)), child)
        for child in output_dir.iterdir()
        if (match := CONFIG_HISTORY_RE.match(child.name))
    )
    first = output_dir / RESOLVED_CONFIG
    return ([first] if first.is_file() else []) + [path for _, path in numbered]


def is_complete_checkpoint(path: Path) -> bool:
    """Whether `path` is a checkpoint the Trainer finished writing."""
    return path.is_dir() and (path / TRAINER_STATE).is_file()


def newest_checkpoint(output_dir: Path) -> Path | None:
    """The complete `checkpoint-N` in `output_dir` with the largest N, if any."""
    if not output_dir.is_dir():
        return None
    found = []
    for child in output_dir.iterdir():
        match = CHECKPOINT_RE.match(child.name)
        if match and is_complete_checkpoint(child):
            found.append((int(match.group(1)), child))
    return max(found)[1] if found else None


_SHOWN = 4  # entries of an occupied directory named in the message


def _listing(directory: Path) -> str:
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in directory.iterdir())
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more


def _is_empty(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


# What a run leaves behind when stopped before its first checkpoint.
_UNSTARTED_RUN = frozenset({RESOLVED_CONFIG, "on_policy_decisions", "runs", "gkd_eval.json"})


def _only_unstarted_run(path: Path) -> bool:
    """Whether `path` holds only what a run stopped before any checkpoint leaves."""
    return path.is_dir() and {c.name for c in path.iterdir()} <= _UNSTARTED_RUN


def named_checkpoint(resume: str, base_dir: Path) -> Path:
    """The checkpoint a `training.resume` path names, resolved against `base_dir`.

    Raises:
        OutputDirError: It is not a complete checkpoint (missing, or cut off mid-save).
    """
    path = Path(resume).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if not is_complete_checkpoint(path):
        raise OutputDirError(
            Diagnostic(
                ("training", "resume"),
                f"`{resume}` is not a complete checkpoint (a directory with "
                f"{TRAINER_STATE}); name a `checkpoint-N` directory or use `auto`",
                "resume_checkpoint_missing",
            )
        )
    return path


def plan_output(
    output_dir: Path, resume: str, *, overwrite: bool, base_dir: Path
) -> OutputPlan:
    """Check `output_dir` against `training.resume` and `--overwrite`.

    Args:
        output_dir: `training.output_dir`, resolved against `base_dir`.
        resume: `never`, `auto` or a checkpoint path.
        overwrite: The `--overwrite` option.
        base_dir: Directory relative checkpoint paths are resolved against.

    Returns:
        The plan. Nothing is written here.

    Raises:
        OutputDirError: The directory is a file, or occupied and neither resumed
            from nor overwritten, or the named checkpoint is missing or incomplete.
    """
    loc = ("training", "output_dir")
    if output_dir.exists() and not output_dir.is_dir():
        raise OutputDirError(
            Diagnostic(loc, f"`{output_dir}` is a file, not a directory", "output_dir_is_file")
        )
    if overwrite:
        return OutputPlan(output_dir, None, clear_previous=not _is_empty(output_dir))
    if resume == "never":
        resume_from = None
    elif resume == "auto":
        resume_from = newest_checkpoint(output_dir)
    else:
        resume_from = named_checkpoint(resume, base_dir)
    inside = resume_from is not None and output_dir.resolve() in resume_from.resolve().parents
    unstarted = not _is_empty(output_dir) and _only_unstarted_run(output_dir)
    if resume_from is None and resume in ("auto", "never") and unstarted:
        # A run that failed or was killed before its first checkpoint left nothing to
        # resume and nothing of the user's: the next run replaces it.
        return OutputPlan(output_dir, None, clear_previous=True, replaces_unstarted=True)
    if not _is_empty(output_dir) and not inside:
        if resume == "never":
            why = "`training.resume` is `never`"
            fix = "Set `training.resume: auto` to continue that run, choose"
        else:
            why = (
                "it holds no complete checkpoint to resume from"
                if resume == "auto"
                else "the checkpoint to resume from is not inside it"
            )
            fix = "Choose"
        raise OutputDirError(
            Diagnostic(
                loc,
                # Naming what is there tells a stale run from a wrong path at a glance.
                f"`{output_dir}` is not empty (it holds {_listing(output_dir)}) and {why}; "
                f"gkd will not write into it. {fix} another `output_dir`, or pass --overwrite "
                "to replace the previous run",
                "output_dir_occupied",
            )
        )
    return OutputPlan(output_dir, resume_from, clear_previous=False)
