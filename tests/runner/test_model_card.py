"""The model card's gkd section, the evaluation table in Markdown, and the end-of-run save, card and push."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gkd_schema.models import RunConfig
from gkd_schema.runner.eval.metrics import Divergences
from gkd_schema.runner.eval.report import render_markdown
from gkd_schema.runner.eval.scoring import EvalResult, ModelScores
from gkd_schema.runner.train.errors import RunFailedError
from gkd_schema.runner.train.model_card import render_card_section, with_card_section
from gkd_schema.runner.train.publish import publish, save_final

TRL_CARD = "---\nlibrary_name: transformers\n---\n\n# Model Card for x\n\n## Quick start\n\n## Training procedure\n\n"


def _config(**sections: Any) -> RunConfig:
    data: dict[str, Any] = {
        "model": {"name_or_path": "Qwen/Qwen2.5-0.5B-Instruct"},
        "gkd": {"teacher_model_name_or_path": "./teachers/qwen-3b"},
        "data": {"train": {"path": "data/train.jsonl"}},
        "training": {"output_dir": "runs/x", "max_steps": 200},
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return RunConfig.model_validate(data)


def _scores(label: str, exact: float, reverse_kl: float) -> ModelScores:
    div = Divergences(forward_kl=reverse_kl, reverse_kl=reverse_kl, jsd=reverse_kl / 4, tokens=40)
    return ModelScores(label, exact, 1.0 if exact == 1.0 else 0.25, div, div)


def test_the_section_names_student_teacher_data_and_the_distillation_settings() -> None:
    config = _config(
        gkd={"beta": 0.3, "lmbda": 0.7, "temperature": 0.8, "max_new_tokens": 96, "seq_kd": True,
             "loss_implementation": "fused"},
        teacher={"top_k": 64},
        data={"train": {"name": "trl-lib/tldr", "split": "train", "max_samples": 500},
              "eval": {"path": "data/eval.jsonl"}},
        peft={"r": 8},
    )
    card = render_card_section(config)
    rows = {line.split(" | ")[0].strip("| "): line for line in card.splitlines() if line.startswith("| ")}
    assert "[Qwen/Qwen2.5-0.5B-Instruct](https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct)" in rows["student"]
    assert "`./teachers/qwen-3b` (a local model)" in rows["teacher"]
    assert "https://huggingface.co/datasets/trl-lib/tldr" in rows["training data"]
    assert "first 500 rows" in rows["training data"]
    assert "`data/eval.jsonl`" in rows["evaluation data"]
    assert "LoRA r=8" in rows["adapter"]
    assert "| 0.3 " in rows["`gkd.beta`"] and "| 0.7 " in rows["`gkd.lmbda`"]
    assert "| 0.8 " in rows["`gkd.temperature`"] and "| 96 |" in rows["`gkd.max_new_tokens`"]
    assert "true (the other batches use teacher-generated completions)" in rows["`gkd.seq_kd`"]
    assert "`fused`" in rows["loss"] and "top 64 tokens" in rows["loss"] and "bucket" in rows["loss"]
    assert {"generation", "teacher backend"} <= rows.keys()
    assert "200 steps" in rows["training"]
    assert "### " not in card  # no evaluation handed in, no evaluation shown


def test_a_full_vocabulary_teacher_and_the_dataset_completions() -> None:
    card = render_card_section(_config())
    assert "the teacher's full vocabulary" in card
    assert "false (the other batches use the dataset's completions)" in card
    assert "evaluation data" not in card and "adapter" not in card


def test_the_evaluation_table_goes_under_its_title() -> None:
    result = EvalResult(
        "eval", 6, 32,
        (_scores("teacher", 1.0, 0.0), _scores("student (before)", 0.0, 3.862), _scores("student (after)", 1.0, 0.002)),
    )
    table = render_markdown(result)
    lines = table.splitlines()
    assert lines[0] == (
        "| model | exact | agree | own rev KL | own fwd KL | own JSD | data rev KL | data fwd KL | data JSD |"
    )
    assert lines[1] == "|---|" + "---:|" * 8
    assert lines[3] == "| student (before) | 0.0% | 25.0% | 3.862 | 3.862 | 0.966 | 3.862 | 3.862 | 0.966 |"
    assert lines[4].startswith("| student (after) | 100.0% | 100.0% | 0.002 |")
    assert "6 prompts (eval split)" in table
    card = render_card_section(_config(), {"Evaluation": table})
    assert "\n### Evaluation\n\n| model | exact |" in card
    assert card.endswith("nats per token (rev KL = KL(model||teacher), fwd KL = KL(teacher||model)) on the "
                         "model's own completions and on the dataset's.\n")


def test_the_section_goes_before_trls_training_procedure_or_at_the_end() -> None:
    section = render_card_section(_config())
    card = with_card_section(TRL_CARD, section)
    assert card.index("## Quick start") < card.index("## Distillation") < card.index("## Training procedure")
    assert card.count("## Distillation") == 1
    bare = with_card_section("# Model Card\n", section)
    assert bare == "# Model Card\n\n" + section


class _Trainer:
    """What `save_final` and `publish` use of `GkdTrainer`, recording the calls."""

    def __init__(self, output_dir: Path, push_error: Exception | None = None, **args: Any) -> None:
        defaults = {"push_to_hub": False, "hub_model_id": None}
        self.args = SimpleNamespace(output_dir=str(output_dir), **(defaults | args))
        self.card_sections: dict[str, str] = {}
        self.hub_model_id: str | None = None
        self.calls: list[tuple[str, Any]] = []
        self.push_error = push_error

    def save_model(self, output_dir: str, _internal_call: bool = False) -> None:
        self.calls.append(("save_model", _internal_call))

    def save_metrics(self, split: str, metrics: Any) -> None:
        self.calls.append(("save_metrics", split))

    def save_state(self) -> None:
        self.calls.append(("save_state", None))

    def evaluate(self) -> dict[str, float]:
        return {"eval_loss": 1.0}

    def create_model_card(self, model_name: str) -> None:
        self.calls.append(("create_model_card", (model_name, dict(self.card_sections))))

    def push_to_hub(self, commit_message: str) -> None:
        if self.push_error is not None:
            raise self.push_error
        self.hub_model_id = self.args.hub_model_id or f"me/{Path(self.args.output_dir).name}"
        self.calls.append(("push_to_hub", (commit_message, dict(self.card_sections))))


def test_the_final_save_never_pushes(tmp_path: Path) -> None:
    trainer = _Trainer(tmp_path / "run", push_to_hub=True)
    save_final(trainer, tmp_path / "run", {"train_loss": 1.0}, evaluation=[{"messages": []}])
    assert trainer.calls[0] == ("save_model", True)  # transformers' "save, do not push"
    assert ("save_metrics", "eval") in trainer.calls


def test_without_push_the_card_is_written_with_the_hooks_sections(tmp_path: Path) -> None:
    trainer = _Trainer(tmp_path / "qwen-gkd")
    assert publish(trainer, {"Evaluation": "| table |"}) is None
    assert trainer.calls == [("create_model_card", ("qwen-gkd", {"Evaluation": "| table |"}))]


def test_with_push_one_push_after_the_hooks_carries_the_card(tmp_path: Path) -> None:
    trainer = _Trainer(tmp_path / "run", push_to_hub=True, hub_model_id="me/tiny-gkd")
    assert publish(trainer, {"Evaluation": "| table |"}) == "https://huggingface.co/me/tiny-gkd"
    assert trainer.calls == [("push_to_hub", ("End of training", {"Evaluation": "| table |"}))]


def test_a_failed_push_says_the_model_is_saved_and_how_to_upload_it(tmp_path: Path) -> None:
    trainer = _Trainer(tmp_path / "run", push_error=OSError("401 Unauthorized"), push_to_hub=True,
                       hub_model_id="me/tiny-gkd")
    with pytest.raises(RunFailedError) as failed:
        publish(trainer, {})
    message = str(failed.value)
    assert f"the model is saved in {tmp_path / 'run'}" in message and "401 Unauthorized" in message
    assert f"`hf upload me/tiny-gkd {tmp_path / 'run'}`" in message
