"""`gkd run` end to end on tiny local models: train, save, resume, Ctrl-C, distillation happens."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gkd_schema.cli.app import app

pytestmark = pytest.mark.slow

HELD_OUT = [
    [{"role": "user", "content": f"reverse xyz{i}"}, {"role": "assistant", "content": f"{i}zyx"}]
    for i in range(6)
]


def mean_divergence(student_dir: Path, teacher_dir: Path) -> float:
    """Mean per-token KL(teacher || student) on the completions of held-out conversations."""
    import torch
    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(teacher_dir))
    student = AutoModelForCausalLM.from_pretrained(str(student_dir), dtype=torch.float32).eval()
    teacher = AutoModelForCausalLM.from_pretrained(str(teacher_dir), dtype=torch.float32).eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for conversation in HELD_OUT:
            prompt = tok.apply_chat_template(conversation[:1], add_generation_prompt=True, tokenize=False)
            full = tok.apply_chat_template(conversation, tokenize=False)
            ids = tok(full, return_tensors="pt", add_special_tokens=False)["input_ids"]
            start = len(tok(prompt, add_special_tokens=False)["input_ids"]) - 1
            s = F.log_softmax(student(ids).logits[0, start:-1], -1)
            t = F.log_softmax(teacher(ids).logits[0, start:-1], -1)
            total += F.kl_div(s, t, log_target=True, reduction="sum").item()
            count += s.shape[0]
    return total / count


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["run", *args], catch_exceptions=False)


def _state(path: Path) -> dict[str, Any]:
    return json.loads((path / "trainer_state.json").read_text())


def test_run_saves_resumes_and_distils(
    write_config: Any, tmp_path: Path, tiny_teacher_dir: Path, tiny_student_dir: Path
) -> None:
    import tiny_models

    held_out = tiny_models.write_messages_jsonl(tmp_path / "eval.jsonl", rows=4)
    cfg = write_config(
        tmp_path,
        training={"max_steps": 6, "save_steps": 3, "learning_rate": 1e-2,
                  "eval_strategy": "steps", "eval_steps": 3, "per_device_eval_batch_size": 4},
        gkd={"lmbda": 0.5},
        data={"eval": {"path": str(held_out)}},
    )
    out = tmp_path / "out"
    result = _invoke(str(cfg))
    assert result.exit_code == 0, result.output
    assert "gkd run: finished" in result.output and "precision  fp32" in result.output
    for name in ("model.safetensors", "config.json", "tokenizer.json", "gkd_config.yaml",
                 "trainer_state.json", "train_results.json", "eval_results.json"):
        assert (out / name).is_file(), name
    assert (out / "checkpoint-6" / "trainer_state.json").is_file()
    assert _state(out)["global_step"] == 6
    decisions = [json.loads(x) for x in (out / "on_policy_decisions" / "rank0.jsonl").read_text().splitlines()]
    assert len(decisions) == 6 and {d["on_policy"] for d in decisions} == {True, False}
    # The model card names what was distilled, from what, on what, how, and how well.
    card = (out / "README.md").read_text()
    for item in (f"| student | `{tiny_student_dir}`", f"| teacher | `{tiny_teacher_dir}`", f"`{held_out}`",
                 "| `gkd.beta` | 0.5 ", "| `gkd.lmbda` | 0.5 ", "| loss | `chunked`",
                 "### Evaluation before and after training", "| student (after) |"):
        assert item in card, item

    # Distillation happened: the student is closer to the teacher on held-out prompts.
    before = mean_divergence(tiny_student_dir, tiny_teacher_dir)
    after = mean_divergence(out, tiny_teacher_dir)
    print(f"mean KL(teacher || student) on held-out prompts: before {before:.4f}, after {after:.4f}")
    assert after < before * 0.9, (before, after)

    # The occupied directory is refused without resume ...
    again = _invoke(str(cfg))
    assert again.exit_code == 1 and "output_dir_occupied" not in again.output
    assert "is not empty" in again.output
    # ... and a resumed run continues from the newest checkpoint.
    resumed = _invoke(str(cfg), "--set", "training.resume=auto", "--set", "training.max_steps=8")
    assert resumed.exit_code == 0, resumed.output
    assert "resume from checkpoint-6" in resumed.output
    assert "steps      2 this run" in resumed.output
    assert _state(out)["global_step"] == 8


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes(write_config: Any, tmp_path: Path) -> None:
    from transformers import TrainerCallback

    from gkd_schema.config.validation import validate_file
    from gkd_schema.runner.train.run import execute

    class CtrlCAtStep2(TrainerCallback):  # type: ignore[misc]
        def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if state.global_step == 1:
                os.kill(os.getpid(), signal.SIGINT)

    # Gradient checkpointing on: generation must still work (with the KV cache).
    cfg = write_config(
        tmp_path,
        training={"max_steps": 4, "save_steps": 100, "gradient_checkpointing": True, "resume": "auto"},
        gkd={"lmbda": 1.0},
    )
    config = validate_file(cfg).config
    assert config is not None
    out = tmp_path / "out"
    lines: list[str] = []
    code = execute(config, base_dir=tmp_path, echo=lines.append, callbacks=[CtrlCAtStep2()])
    assert code == 130
    assert _state(out / "checkpoint-2")["global_step"] == 2
    assert not (out / "model.safetensors").exists()  # an unfinished run saves no final model
    assert any("run the same command again" in line for line in lines)  # resume is already auto

    code = execute(config, base_dir=tmp_path, echo=lines.append)
    assert code == 0
    assert _state(out)["global_step"] == 4
    decisions = (out / "on_policy_decisions" / "rank0.jsonl").read_text().splitlines()
    assert [json.loads(d)["step"] for d in decisions] == [0, 1, 2, 3]


def test_lora_seq_kd_with_accumulation(write_config: Any, tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        training={"max_steps": 2, "save_strategy": "no", "gradient_accumulation_steps": 2},
        gkd={"seq_kd": True, "lmbda": 0.5},
        peft={"r": 4, "lora_alpha": 8},
    )
    result = _invoke(str(cfg))
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert (out / "adapter_config.json").is_file() and (out / "adapter_model.safetensors").is_file()
    assert "LoRA" in result.output and "rest teacher-generated (seq_kd)" in result.output
    decisions = [json.loads(x) for x in (out / "on_policy_decisions" / "rank0.jsonl").read_text().splitlines()]
    assert [(d["step"], d["micro"]) for d in decisions] == [(0, 0), (0, 1), (1, 0), (1, 1)]
