"""What `gkd eval CONFIG_OR_RUN_DIR` scores, and loading it.

- A config file: the teacher and the student the config starts from (`model.name_or_path`).
- A run directory (a `training.output_dir`): its resolved config (`gkd_config.yaml`), the
  teacher, the starting student as `student (before)` and the trained model saved in
  the directory (or, for an unfinished run, its newest checkpoint) as `student (after)`.
- `--student PATH` replaces the student(s) with one model.

Relative paths in the config resolve against the current directory, as in `gkd run`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gkd_schema.models import RunConfig
from gkd_schema.runner.eval.across_tokenizers import evaluate_across_tokenizers
from gkd_schema.runner.eval.scoring import EvalResult, evaluate_models
from gkd_schema.runner.preflight.output_plan import RESOLVED_CONFIG

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
_LOCAL = ("/", "./", "../", "~")


class EvalTargetError(Exception):
    """Nothing to evaluate at the given place; the message says why."""


@dataclass(frozen=True)
class EvalPlan:
    """What one `gkd eval` scores.

    Attributes:
        config: The validated config (the run's resolved config for a run directory).
        students: Row label -> model path or Hub id, in table order.
        split: `eval` or `train`.
    """

    config: RunConfig
    students: dict[str, str]
    split: str


def config_path_for(target: Path) -> Path:
    """The config file to read for a config file or a run directory.

    Raises:
        EvalTargetError: A directory without a resolved config.
    """
    if target.is_dir():
        path = target / RESOLVED_CONFIG
        if not path.is_file():
            raise EvalTargetError(
                f"{target} is a directory without {RESOLVED_CONFIG}; give a config file or "
                "the output_dir of a `gkd run`"
            )
        return path
    return target


def trained_model_dir(run_dir: Path) -> Path:
    """The model a run saved: the directory itself when finished, else its newest checkpoint.

    Raises:
        EvalTargetError: No saved model.
    """
    if (run_dir / "config.json").is_file() or (run_dir / "adapter_config.json").is_file():
        return run_dir
    checkpoints = sorted(
        (int(m.group(1)), p)
        for p in run_dir.iterdir()
        if (m := _CHECKPOINT.match(p.name)) and (p / "trainer_state.json").is_file()
    )
    if not checkpoints:
        raise EvalTargetError(f"{run_dir} holds no saved model or complete checkpoint yet")
    return checkpoints[-1][1]


def plan_eval(target: Path, config: RunConfig, *, split: str, student: str | None) -> EvalPlan:
    """Decide which students to score.

    Args:
        target: The CONFIG_OR_RUN_DIR argument.
        config: The validated config read from `config_path_for(target)`.
        split: `eval` (held-out) or `train`.
        student: `--student`, replacing the student(s) when given.

    Returns:
        The plan.

    Raises:
        EvalTargetError: The split is not in the config, or a run has no saved model.
    """
    if split not in ("eval", "train"):
        raise EvalTargetError(f"--split must be eval or train, not {split!r}")
    if split == "eval" and config.data.eval is None:
        raise EvalTargetError("the config has no `data.eval` split; add one or use --split train")
    if student is not None:
        return EvalPlan(config, {"student": student}, split)
    if target.is_dir():
        trained = str(trained_model_dir(target))
        return EvalPlan(
            config, {"student (before)": config.model.name_or_path, "student (after)": trained}, split
        )
    return EvalPlan(config, {"student": config.model.name_or_path}, split)


def _resolve(name_or_path: str, base_dir: Path) -> str:
    """A local path resolved against `base_dir`; a Hub id unchanged."""
    local = name_or_path.startswith(_LOCAL) or (base_dir / name_or_path).exists()
    if local or Path(name_or_path).is_absolute():
        path = Path(name_or_path).expanduser()
        return str(path if path.is_absolute() else base_dir / path)
    return name_or_path


def _load(name_or_path: str, dtype: str, trust_remote_code: bool, device: str) -> Any:
    """A causal LM in inference mode on `device`."""
    from transformers import AutoModelForCausalLM

    model: Any = AutoModelForCausalLM.from_pretrained(
        name_or_path, dtype=dtype, trust_remote_code=trust_remote_code
    )
    return model.to(device).eval()


def run_eval(
    plan: EvalPlan,
    *,
    base_dir: Path,
    limit: int | None,
    max_new_tokens: int | None,
    batch_size: int,
) -> EvalResult:
    """Load data, tokenizer, teacher and students, and score them.

    Args:
        plan: From `plan_eval`.
        base_dir: Directory relative paths are resolved against.
        limit: Use at most this many conversations (the first ones).
        max_new_tokens: Longest greedy completion; the config's `gkd.max_new_tokens` when None.
        batch_size: Prompts per generation or forward pass.

    Returns:
        The teacher's row, then each student's.

    Raises:
        DataError: The split cannot be loaded.
    """
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    from gkd_schema.runner.preflight.chat_template import apply_chat_template
    from gkd_schema.runner.preflight.precision import precision_for
    from gkd_schema.runner.train.data_loading import load_split

    # Weight-loading progress bars would interleave with the table on the terminal.
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    config = plan.config
    source = config.data.eval if plan.split == "eval" else config.data.train
    if source is None:
        raise EvalTargetError("the config has no `data.eval` split; add one or use --split train")
    rows = load_split(source, plan.split, base_dir, system_prompt=config.data.system_prompt)
    device_info, precision = precision_for(config, base_dir)
    device = "cuda" if device_info.kind == "cuda" else device_info.kind
    m = config.model
    tokenizer = AutoTokenizer.from_pretrained(
        _resolve(m.tokenizer_name_or_path or m.name_or_path, base_dir),
        trust_remote_code=m.trust_remote_code,
    )
    apply_chat_template(tokenizer, config, base_dir)
    teacher = _load(
        _resolve(config.gkd.teacher_model_name_or_path, base_dir),
        precision.teacher_dtype,
        config.gkd.teacher_trust_remote_code,
        device,
    )
    students = {
        label: _load(_resolve(path, base_dir), precision.student_dtype, m.trust_remote_code, device)
        for label, path in plan.students.items()
    }
    common: dict[str, Any] = {"split": plan.split, "batch_size": batch_size, "limit": limit,
                              "max_new_tokens": max_new_tokens or config.gkd.max_new_tokens}
    if config.teacher.cross_tokenizer is not None:
        teacher_tokenizer = AutoTokenizer.from_pretrained(
            _resolve(config.gkd.teacher_model_name_or_path, base_dir),
            trust_remote_code=config.gkd.teacher_trust_remote_code,
        )
        return evaluate_across_tokenizers(students, teacher, tokenizer, teacher_tokenizer, rows, **common)
    return evaluate_models(students, teacher, tokenizer, rows, **common)
