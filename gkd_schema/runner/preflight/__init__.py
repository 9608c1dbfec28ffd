"""Preflight: find what would stop a GKD run, from config files only, before any weights load.

Takes a validated `RunConfig`; gives located diagnostics (`checklist.check_run`, the
one list) and the decisions the run shares with the checks (precision, TRL's arguments,
the output-directory plan: `run_plan.plan_run`). Reads files only and imports no other
runner stage; the one write is `check_run` downloading a missing Hub model's config and
tokenizer files into the Hugging Face cache (`hub_models.py`), unless offline.

`run_preflight` is called by `gkd run` and `gkd validate --deep`, both without the
output-directory check (the run plans the directory itself, knowing `--overwrite`).
It reads config.json files, safetensors headers, the student's tokenizer and the
first rows of the data, offline: Hub models and datasets are looked up in the local
Hugging Face cache only, and a check whose files are not cached is reported as
skipped (a warning). `check_run` fetches what it may before calling it.

Relative paths in the config (local models, data files, `output_dir`, a checkpoint
to resume) resolve against `base_dir`: the directory gkd runs in, as TRL and
`transformers` resolve them, not the config file's directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gkd_schema.config.diagnostics import Diagnostic, Loc
from gkd_schema.models import RunConfig
from gkd_schema.runner.preflight.chat_template import apply_chat_template, with_system_prompt
from gkd_schema.runner.preflight.cross_tokenizer_check import check_cross_tokenizer
from gkd_schema.runner.preflight.data_files import DEFAULT_ROWS, read_rows
from gkd_schema.runner.preflight.data_rows import check_rows
from gkd_schema.runner.preflight.guard import guarded as _stage
from gkd_schema.runner.preflight.locate import Located, locate_model
from gkd_schema.runner.preflight.memory_check import CheckedModel, check_memory
from gkd_schema.runner.preflight.output_dir import check_output_dir as _check_output_dir
from gkd_schema.runner.preflight.positions import check_max_length
from gkd_schema.runner.preflight.prompt_length import check_lengths
from gkd_schema.runner.preflight.same_tokenizer import TeacherTokenizer, check_same_tokenizer, load_teacher_tokenizer
from gkd_schema.runner.preflight.template_compare import compare_templates
from gkd_schema.runner.preflight.tokenizer import check_tokenizer, load_tokenizer
from gkd_schema.runner.preflight.vocab import TEACHER_LOC, check_top_k, check_vocab_sizes
from gkd_schema.runner.preflight.weights import read_config, vocab_size

__all__ = ["run_preflight"]

STUDENT_LOC: Loc = ("model", "name_or_path")
TOKENIZER_LOC: Loc = ("model", "tokenizer_name_or_path")


def _read_model(found: Located, loc: Loc) -> tuple[CheckedModel | None, list[Diagnostic]]:
    """config.json of a located model, or the diagnostic for an unreadable one."""
    config = read_config(found.directory)
    if config is not None:
        return CheckedModel(found.directory, config), []
    key = ".".join(map(str, loc))
    return None, [
        Diagnostic(
            loc=loc,
            message=(
                f"config.json of {found.label} is not a JSON object; re-save the model with "
                f"`save_pretrained` or point `{key}` at another"
            ),
            type="config_unreadable",
            severity="warning" if found.from_hub else "error",
        )
    ]


@dataclass
class _Checked:
    """What the model checks loaded, for the checks after them (each file is read once)."""

    tokenizer: Any | None = None
    student: CheckedModel | None = None
    teacher: CheckedModel | None = None
    teacher_tokenizer: TeacherTokenizer | None = None


def _check_models(config: RunConfig, base_dir: Path, out: list[Diagnostic]) -> _Checked:
    """Locate and check student, teacher and tokenizer; returns what they loaded."""
    student_found, found = locate_model(
        config.model.name_or_path, loc=STUDENT_LOC, base_dir=base_dir, revision=config.model.revision
    )
    out += found
    # A served teacher is loaded by its server: here only its config and tokenizer are read.
    teacher_found, found = locate_model(
        config.gkd.teacher_model_name_or_path,
        loc=TEACHER_LOC,
        base_dir=base_dir,
        need_weights=config.teacher.backend != "server",
    )
    out += found
    student = teacher = None
    if student_found is not None:
        student, found = _read_model(student_found, STUDENT_LOC)
        out += found
    if teacher_found is not None:
        teacher, found = _read_model(teacher_found, TEACHER_LOC)
        out += found
    student_vocab = vocab_size(student.config) if student else None
    cross = config.teacher.cross_tokenizer is not None
    # A served teacher sends token ids only (checked against the student's vocabulary as
    # they arrive): its embedding may be padded to another size.
    sizes_matter = not cross and config.teacher.backend != "server"
    if student is not None and teacher is not None and sizes_matter:
        out += check_vocab_sizes(
            student_vocab,
            vocab_size(teacher.config),
            student_label=config.model.name_or_path,
            teacher_label=config.gkd.teacher_model_name_or_path,
        )
    if teacher is not None:
        out += check_top_k(
            config.teacher.top_k, vocab_size(teacher.config), teacher_label=config.gkd.teacher_model_name_or_path
        )

    checked = [
        ("student", config.model.name_or_path, student),
        ("teacher", config.gkd.teacher_model_name_or_path, teacher),
    ]
    out += check_max_length(
        config.training.max_length, [(role, label, m.config) for role, label, m in checked if m is not None]
    )

    tokenizer_loc, tokenizer_found = STUDENT_LOC, student_found
    if config.model.tokenizer_name_or_path is not None:
        tokenizer_loc = TOKENIZER_LOC
        tokenizer_found, found = locate_model(
            config.model.tokenizer_name_or_path,
            loc=TOKENIZER_LOC,
            base_dir=base_dir,
            need_weights=False,
        )
        out += found
    tokenizer = teacher_tokenizer = None
    if tokenizer_found is not None:
        tokenizer, found = load_tokenizer(
            tokenizer_found, loc=tokenizer_loc, trust_remote_code=config.model.trust_remote_code
        )
        out += found
    if tokenizer is not None:
        out += apply_chat_template(tokenizer, config, base_dir)
    if tokenizer is not None and tokenizer_found is not None:
        out += check_tokenizer(
            tokenizer,
            found=tokenizer_found,
            loc=tokenizer_loc,
            student_vocab=student_vocab,
            student_label=config.model.name_or_path,
        )
        if teacher is not None and teacher_found is not None:
            teacher_tokenizer = load_teacher_tokenizer(teacher_found.directory, config.gkd.teacher_trust_remote_code)
            compare = check_cross_tokenizer if cross else check_same_tokenizer
            out += compare(
                tokenizer,
                teacher_tokenizer,
                student_label=tokenizer_found.label,
                teacher_label=config.gkd.teacher_model_name_or_path,
            )
    return _Checked(tokenizer, student, teacher, teacher_tokenizer)


def _check_data(config: RunConfig, base_dir: Path, checked: _Checked, out: list[Diagnostic]) -> None:
    """Read and check the first rows of `data.train` and `data.eval`; compare the templates on one."""
    tokenizer = checked.tokenizer
    teacher_tokenizer = checked.teacher_tokenizer.tokenizer if checked.teacher_tokenizer else None
    # Length checks need a tokenizer that can render conversations at all.
    can_count = tokenizer is not None and bool(getattr(tokenizer, "chat_template", None))
    for split in ("train", "eval"):
        source = getattr(config.data, split)
        if source is None:
            continue
        sample, found = read_rows(source, loc=("data", split), base_dir=base_dir, limit=DEFAULT_ROWS)
        out += found
        if sample is None:
            continue
        loc: Loc = ("data", split, "path" if source.path is not None else "name")
        conversations, found = check_rows(sample, loc=loc, fmt=source.format, columns=source.columns)
        conversations = [(ref, with_system_prompt(m, config.data.system_prompt)) for ref, m in conversations]
        out += found
        if split == "train" and conversations and tokenizer is not None and teacher_tokenizer is not None:
            label = config.gkd.teacher_model_name_or_path
            out += compare_templates(tokenizer, teacher_tokenizer, conversations[0][1], teacher_label=label)
        if can_count and conversations:
            out += check_lengths(
                tokenizer,
                conversations,
                sample=sample,
                loc=loc,
                max_length=config.training.max_length,
                max_new_tokens=config.gkd.max_new_tokens,
            )


def run_preflight(
    config: RunConfig,
    *,
    base_dir: Path,
    check_output_dir: bool = True,
    overwrite: bool = False,
) -> list[Diagnostic]:
    """Check everything that can stop a run, from config files and a few data rows.

    Never loads weights and never touches the network.

    Args:
        config: A validated run config.
        base_dir: The directory relative paths start from: the directory gkd runs in
            (`Path.cwd()` from the CLI).
        check_output_dir: Check that `training.output_dir` may be written (`gkd run`);
            `gkd validate --deep` leaves it out.
        overwrite: `--overwrite` was given: an occupied output directory is allowed.

    Returns:
        Errors and warnings, each naming the config key to change, the file, and the fix.
    """
    base_dir = Path(base_dir).absolute()
    out: list[Diagnostic] = []
    checked = _Checked()
    with _stage("the models and tokenizer", STUDENT_LOC, out):
        checked = _check_models(config, base_dir, out)
    with _stage("the data rows", ("data",), out):
        _check_data(config, base_dir, checked, out)
    if checked.student is not None and checked.teacher is not None:
        with _stage("the memory estimate", ("training", "per_device_train_batch_size"), out):
            out += check_memory(config, checked.student, checked.teacher)
    if check_output_dir:
        with _stage("the output directory", ("training", "output_dir"), out):
            out += _check_output_dir(config.training, base_dir=base_dir, overwrite=overwrite)
    return out
