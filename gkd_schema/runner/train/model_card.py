"""gkd's part of the model card: what was distilled into what, on which data, how, and how well.

TRL's card (`output_dir/README.md`) names the base model and the trainer; a reader of a
distilled model also needs the teacher, the data and the GKD settings to judge or
reproduce it, and the evaluation to know whether it worked. `GkdTrainer.create_model_card`
inserts this section into TRL's card each time TRL writes it (every checkpoint, the end
of the run, every push), so the card never goes stale. Pure functions of the config and
the sections the run hooks add (the evaluation table), so they are tested without a run.
"""

from __future__ import annotations

from collections.abc import Mapping

from gkd_schema.models import RunConfig
from gkd_schema.models.data_section import DatasetSource
from gkd_schema.models.identifiers import is_local_path

SECTION_TITLE = "## Distillation"
# TRL's template; the section goes before it, next to the description of the model.
_TRL_PROCEDURE = "## Training procedure"


def _model(name: str) -> str:
    """A model as the card shows it: a Hub link, or the local path as the config wrote it."""
    if is_local_path(name):
        return f"`{name}` (a local model)"
    return f"[{name}](https://huggingface.co/{name})"


def _data(source: DatasetSource) -> str:
    if source.name is not None:
        subset = f", subset `{source.config}`" if source.config else ""
        where = f"[{source.name}](https://huggingface.co/datasets/{source.name}) (split `{source.split}`{subset})"
    else:
        where = f"`{source.path}` (a local file)"
    return where + (f", first {source.max_samples} rows" if source.max_samples else "")


def _teacher_view(config: RunConfig) -> str:
    top_k = config.teacher.top_k
    if top_k is None:
        return "the teacher's full vocabulary"
    tail = ", plus one bucket for the rest of its mass" if config.teacher.top_k_tail else ", renormalised"
    return f"the teacher's top {top_k} tokens (`teacher.top_k`){tail}"


def _rows(config: RunConfig) -> list[tuple[str, str]]:
    gkd, training = config.gkd, config.training
    rows = [
        ("student", _model(config.model.name_or_path)),
        ("teacher", _model(gkd.teacher_model_name_or_path)),
        ("training data", _data(config.data.train)),
    ]
    if config.data.eval is not None:
        rows.append(("evaluation data", _data(config.data.eval)))
    if config.peft is not None:
        p = config.peft
        rows.append(("adapter", f"LoRA r={p.r}, alpha {p.lora_alpha}, targets {p.target_modules}"))
    other = "teacher-generated completions" if gkd.seq_kd else "the dataset's completions"
    length = f"{training.max_steps} steps" if training.max_steps else f"{training.num_train_epochs:g} epochs"
    rows += [
        ("`gkd.beta`", f"{gkd.beta:g} (generalized JSD: 0 forward KL, 1 reverse KL)"),
        ("`gkd.lmbda`", f"{gkd.lmbda:g} (share of batches the student generates itself)"),
        ("`gkd.temperature`", f"{gkd.temperature:g} (sampling; the loss uses 1)"),
        ("`gkd.max_new_tokens`", str(gkd.max_new_tokens)),
        ("`gkd.seq_kd`", f"{str(gkd.seq_kd).lower()} (the other batches use {other})"),
        ("loss", f"`{gkd.loss_implementation}` (`gkd.loss_implementation`), against {_teacher_view(config)}"),
        ("generation", "the student's own `generate` (transformers, through TRL)"),
        ("teacher backend", "a local transformers model, loaded beside the student"),
        (
            "training",
            f"{length}, learning rate {training.learning_rate:g}, batch "
            f"{training.per_device_train_batch_size} x {training.gradient_accumulation_steps} accumulation "
            f"per device, `max_length` {training.max_length}, seed {training.seed}",
        ),
    ]
    return rows


def render_card_section(config: RunConfig, sections: Mapping[str, str] | None = None) -> str:
    """The Markdown gkd adds to the model card.

    Args:
        config: The run's config.
        sections: Further sections by title, as the run hooks gave them (the evaluation
            hook: `Evaluation`, its before/after table), each shown under its title.

    Returns:
        Markdown starting with `## Distillation` and ending in a newline.
    """
    lines = [
        SECTION_TITLE,
        "",
        "Distilled with gkd: on-policy knowledge distillation ([GKD](https://huggingface.co/papers/2306.13649)) "
        "of the teacher into the student. The complete config is `gkd_config.yaml` beside the weights.",
        "",
        "| | |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in _rows(config)),
    ]
    for title, body in (sections or {}).items():
        lines += ["", f"### {title}", "", body.rstrip("\n")]
    return "\n".join(lines) + "\n"


def with_card_section(card: str, section: str) -> str:
    """TRL's card with `section` before its "Training procedure", or at the end without one."""
    before, found, after = card.partition(_TRL_PROCEDURE)
    if not found:
        return card.rstrip("\n") + "\n\n" + section
    return before + section + "\n" + found + after
