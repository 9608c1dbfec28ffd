"""A resumed run continues the run its checkpoint came from, so the config must still be that run.

The output directory keeps the resolved config of every start (`gkd_config.yaml`, then
`gkd_config.N.yaml` for each resume that changed something). Resuming compares the
config with the newest of them: another student, teacher, tokenizer, data or adapter
would continue someone else's optimiser state and data order, and is refused, naming
each changed key; other changes (learning rate, steps, cadence, GKD knobs) are allowed
and listed in a warning.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from gkd_schema.config.diagnostics import Diagnostic, Loc
from gkd_schema.config.resolved import resolved_dict
from gkd_schema.config.yaml_loader import YamlLoadError, load_yaml
from gkd_schema.models import RunConfig
from gkd_schema.runner.preflight.output_plan import config_history

# What makes a checkpoint belong to one run: changing these is refused.
# (Load dtypes and attention kernels may change: they do not change which run it is.)
IDENTITY: tuple[Loc, ...] = (
    ("model", "name_or_path"),
    ("model", "tokenizer_name_or_path"),
    ("model", "revision"),
    ("gkd", "teacher_model_name_or_path"),
    ("gkd", "teacher_model_init_kwargs", "revision"),
    ("data",),
    ("peft",),
)
# How the run is found and resumed, not what it is.
IGNORED: tuple[Loc, ...] = (("training", "resume"), ("training", "output_dir"))
_SHOWN = 6  # other changes named in the warning


def _leaves(value: Any, loc: Loc = ()) -> Iterator[tuple[Loc, Any]]:
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            yield from _leaves(item, (*loc, str(key)))
    else:
        yield loc, value


def _under(loc: Loc, prefixes: tuple[Loc, ...]) -> bool:
    return any(loc[: len(prefix)] == prefix for prefix in prefixes)


def changed_keys(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[Loc, tuple[Any, Any]]:
    """Every leaf key whose value differs, with (before, after); a missing side is None."""
    old, new = dict(_leaves(before)), dict(_leaves(after))
    return {
        loc: (old.get(loc), new.get(loc))
        for loc in sorted(old.keys() | new.keys(), key=lambda k: tuple(map(str, k)))
        if old.get(loc) != new.get(loc) and not _under(loc, IGNORED)
    }


def _previous(output_dir: Path) -> tuple[Path, Any] | None:
    history = config_history(output_dir)
    if not history:
        return None
    try:
        data, _ = load_yaml(history[-1].read_text("utf-8"))
    except (OSError, UnicodeDecodeError, YamlLoadError):
        return None
    return (history[-1], data) if isinstance(data, dict) else None


def check_resume_drift(config: RunConfig, output_dir: Path, checkpoint: Path) -> list[Diagnostic]:
    """Compare the config with the one the resumed run last started with.

    Args:
        config: The validated config about to resume.
        output_dir: The run's output directory (where its resolved configs are).
        checkpoint: The checkpoint it resumes from, for the messages.

    Returns:
        An error per changed identity key (at that key), and one warning listing the
        other changes; nothing when no earlier config is kept.
    """
    previous = _previous(output_dir)
    if previous is None:
        return []
    path, before = previous
    changes = changed_keys(before, resolved_dict(config))
    out = [
        Diagnostic(
            loc,
            f"was {old!r} when the run in {output_dir} started ({path.name}) and is now {new!r}; "
            f"resuming from {checkpoint.name} would continue another run. Restore it, choose "
            "another `training.output_dir`, or pass --overwrite to start over",
            "resume_changes_run",
        )
        for loc, (old, new) in changes.items()
        if _under(loc, IDENTITY)
    ]
    others = [(loc, pair) for loc, pair in changes.items() if not _under(loc, IDENTITY)]
    if others:
        listed = ", ".join(f"`{'.'.join(map(str, loc))}` {old!r} -> {new!r}" for loc, (old, new) in others[:_SHOWN])
        more = f" and {len(others) - _SHOWN} more" if len(others) > _SHOWN else ""
        out.append(
            Diagnostic(
                ("training", "resume"),
                f"resuming from {checkpoint.name} with {len(others)} changed setting(s) since "
                f"{path.name}: {listed}{more}; the new values apply from here on",
                "resume_changes_settings",
                severity="warning",
            )
        )
    return out
