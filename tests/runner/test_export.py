"""`gkd export` on a real tiny LoRA run: the merged model computes what base + adapter computes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gkd_schema.cli.app import app

pytestmark = pytest.mark.slow

# fp32 on a CPU: merging changes only the order of additions (W x + B A x vs (W + B A) x).
LOGIT_TOLERANCE = 1e-5


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def lora_run(
    tmp_path_factory: pytest.TempPathFactory, tiny_teacher_dir: Path, tiny_student_dir: Path, messages_jsonl: Path
) -> Path:
    """A finished 2-step `gkd run` with LoRA adapters, a checkpoint after each step."""
    from ruamel.yaml import YAML

    root = tmp_path_factory.mktemp("lora-run")
    config = {
        "model": {"name_or_path": str(tiny_student_dir), "dtype": "float32"},
        "gkd": {"teacher_model_name_or_path": str(tiny_teacher_dir), "lmbda": 0.0, "max_new_tokens": 8},
        "data": {"train": {"path": str(messages_jsonl)}},
        "peft": {"r": 4, "lora_alpha": 16, "lora_dropout": 0.0},
        # A large learning rate moves the adapter (B starts at zero) far enough to change the logits.
        "training": {"output_dir": str(root / "run"), "max_steps": 2, "save_steps": 1, "learning_rate": 0.05,
                     "per_device_train_batch_size": 2, "max_length": 64, "report_to": ["none"]},
    }
    YAML(typ="safe", pure=True).dump(config, root / "cfg.yaml")
    result = _invoke("run", str(root / "cfg.yaml"))
    assert result.exit_code == 0, result.output
    return root / "run"


def _logits(model: Any, ids: Any) -> Any:
    import torch

    with torch.no_grad():
        return model(ids).logits


def test_merged_model_computes_base_plus_adapter_logits(lora_run: Path, tiny_student_dir: Path, tmp_path: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "merged"
    result = _invoke("export", str(lora_run), str(out), "--merge-lora")
    assert result.exit_code == 0, result.output
    assert "merged model" in result.output
    assert not (out / "adapter_config.json").exists()

    tokenizer = AutoTokenizer.from_pretrained(str(out))
    original = AutoTokenizer.from_pretrained(str(lora_run))
    chat = [{"role": "user", "content": "reverse abc1"}, {"role": "assistant", "content": "1cba"}]
    text = original.apply_chat_template(chat, tokenize=False)
    assert tokenizer.apply_chat_template(chat, tokenize=False) == text
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    assert ids.tolist() == original(text, return_tensors="pt", add_special_tokens=False)["input_ids"].tolist()

    merged = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32).eval()
    assert not any("lora" in name for name in merged.state_dict())
    base = AutoModelForCausalLM.from_pretrained(str(tiny_student_dir), dtype=torch.float32).eval()
    base_logits = _logits(base, ids)
    adapted = PeftModel.from_pretrained(base, str(lora_run)).eval()
    expected = _logits(adapted, ids)

    assert (expected - base_logits).abs().max().item() > 1e-3  # the adapter changes the model
    assert (_logits(merged, ids) - expected).abs().max().item() <= LOGIT_TOLERANCE


def test_without_merge_a_checkpoint_adapter_is_copied_without_optimizer_state(lora_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "adapter"
    result = _invoke("export", str(lora_run), str(out), "--checkpoint", "latest")
    assert result.exit_code == 0, result.output
    saved = lora_run / "checkpoint-2" / "adapter_model.safetensors"
    assert (out / "adapter_model.safetensors").read_bytes() == saved.read_bytes()
    assert (out / "tokenizer.json").is_file() and not (out / "optimizer.pt").exists()


def test_an_adapter_outside_a_run_merges_onto_the_base_its_config_names(lora_run: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    adapter = tmp_path / "adapter"  # no gkd_config.yaml: the base comes from adapter_config.json
    assert _invoke("export", str(lora_run), str(adapter)).exit_code == 0
    result = _invoke("export", str(adapter), str(tmp_path / "merged"), "--merge-lora")
    assert result.exit_code == 0, result.output
    AutoModelForCausalLM.from_pretrained(str(tmp_path / "merged"))


def test_a_full_model_is_copied_and_has_nothing_to_merge(tiny_student_dir: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    refused = _invoke("export", str(tiny_student_dir), str(tmp_path / "a"), "--merge-lora")
    assert refused.exit_code == 1
    assert "nothing to merge" in refused.output and "drop --merge-lora" in refused.output
    assert not (tmp_path / "a").exists()
    copied = _invoke("export", str(tiny_student_dir), str(tmp_path / "b"))
    assert copied.exit_code == 0, copied.output
    AutoModelForCausalLM.from_pretrained(str(tmp_path / "b"))


def test_an_occupied_out_dir_needs_overwrite_which_keeps_other_files(lora_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "model-00001-of-00002.safetensors").write_text("stale shard of an earlier export")
    refused = _invoke("export", str(lora_run), str(out), "--merge-lora")
    assert refused.exit_code == 1
    assert "is not empty (it holds model-00001-of-00002.safetensors, notes.txt)" in refused.output
    assert "--overwrite" in refused.output
    replaced = _invoke("export", str(lora_run), str(out), "--merge-lora", "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert (out / "notes.txt").read_text() == "mine"
    assert not (out / "model-00001-of-00002.safetensors").exists() and (out / "model.safetensors").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--checkpoint", "checkpoint-9"], "no complete checkpoint `checkpoint-9` (complete ones: checkpoint-1, "
         "checkpoint-2)"),
        (["--base", "./no/such/base"], "is not a model folder with config.json and weights"),
        (["--base", "someone/not-cached"], "is not in the local Hugging Face cache"),
    ],
    ids=["missing checkpoint", "missing local base", "uncached Hub base"],
)
def test_a_missing_checkpoint_or_base_is_one_sentence(
    lora_run: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    result = _invoke("export", str(lora_run), str(tmp_path / "out"), "--merge-lora", *extra)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_out_dir_inside_the_run_is_refused(lora_run: Path) -> None:
    result = _invoke("export", str(lora_run), str(lora_run / "merged"), "--merge-lora")
    assert result.exit_code == 1
    assert "inside it or above it" in result.output
    assert not (lora_run / "merged").exists()


def test_a_run_dir_without_a_model_says_which_checkpoint_to_export(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "checkpoint-3").mkdir(parents=True)
    (run / "checkpoint-3" / "trainer_state.json").write_text("{}")
    result = _invoke("export", str(run), str(tmp_path / "out"), "--merge-lora")
    assert result.exit_code == 1
    assert "holds no saved model" in result.output and "--checkpoint latest (checkpoint-3)" in result.output
    assert _invoke("export", str(tmp_path / "absent"), str(tmp_path / "out")).exit_code == 2
