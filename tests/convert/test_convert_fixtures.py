"""`gkd convert` on configs written from Oumi's and TRL's published examples."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from gkd_schema.config.validation import validate_file
from gkd_schema.config.yaml_loader import PositionMap, load_yaml
from gkd_schema.convert.conversion import PLANNERS, Conversion, convert_file
from gkd_schema.convert.plan import ConvertError
from gkd_schema.convert.render import render_plan

FIXTURES = Path(__file__).parent / "fixtures"


def _convert(name: str) -> tuple[Conversion, dict[str, Any]]:
    tool = "oumi" if name.startswith("oumi") else "trl"
    result = convert_file(FIXTURES / name, tool, "./gkd-config.schema.json")
    return result, load_yaml(result.text)[0]


def _unconverted(result: Conversion) -> set[str]:
    return {item.key for item in result.plan.unconverted}


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.yaml")))
def test_every_fixture_converts_to_a_config_gkd_validate_accepts(name: str, tmp_path: Path) -> None:
    result, _ = _convert(name)
    assert result.report.valid, result.report.errors
    written = tmp_path / "gkd.yaml"
    written.write_text(result.text, encoding="utf-8")
    report = validate_file(written, environ={})
    assert report.valid, report.errors
    assert result.text.startswith("# yaml-language-server: $schema=./gkd-config.schema.json\n")


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.yaml")))
def test_every_unconverted_key_is_kept_in_a_comment_with_its_reason(name: str) -> None:
    result, _ = _convert(name)
    block = result.text.split("# Not converted:", 1)[-1]
    for item in result.plan.unconverted:
        assert f"# - {item.key}: " in block
        assert item.reason.split()[0] in block


def test_oumi_example_keeps_the_gkd_knobs_dtype_batches_and_steps() -> None:
    result, cfg = _convert("oumi_gkd_example.yaml")
    assert cfg["model"] == {"name_or_path": "HuggingFaceTB/SmolLM2-135M-Instruct", "dtype": "bfloat16"}
    assert cfg["gkd"] == {
        "teacher_model_name_or_path": "HuggingFaceTB/SmolLM2-360M-Instruct",
        "teacher_model_init_kwargs": {"attn_implementation": "sdpa"},
        "temperature": 0.9,
        "lmbda": 0.5,
        "beta": 0.5,
        "max_new_tokens": 512,
        "disable_dropout": True,
        "seq_kd": False,
    }
    training = cfg["training"]
    assert training["max_length"] == 1024  # model.model_max_length, as Oumi passes it to TRL
    assert (training["learning_rate"], training["max_steps"], training["warmup_steps"]) == (1e-4, 5, 1)
    assert (training["per_device_train_batch_size"], training["gradient_accumulation_steps"]) == (1, 1)
    assert training["report_to"] == ["none"]  # enable_wandb and enable_tensorboard both false
    assert training["bf16"] is False  # Oumi's mixed_precision_dtype defaults to none
    assert training["extra_args"] == {"optim": "adamw_torch"}
    assert cfg["data"] == {"train": {"name": "yahma/alpaca-cleaned"}}
    assert _unconverted(result) == {
        "model.load_pretrained_weights",
        "data.train.datasets[0].dataset_kwargs",
        "training.save_final_model",
        "training.log_model_summary",
    }
    assert "name_or_path: HuggingFaceTB/SmolLM2-135M-Instruct  # model.model_name\n" in result.text


def test_oumi_lora_recipe_maps_peft_data_precision_and_cadence() -> None:
    result, cfg = _convert("oumi_gkd_lora.yaml")
    assert cfg["peft"] == {"r": 16, "lora_alpha": 32, "lora_dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
    assert cfg["gkd"]["teacher_model_init_kwargs"] == {"dtype": "bfloat16"}  # renamed from torch_dtype
    assert cfg["data"]["train"] == {"path": "data/train.jsonl"}
    assert cfg["data"]["eval"] == {"name": "trl-lib/chatbot_arena_completions", "split": "test", "max_samples": 200}
    training = cfg["training"]
    assert training["bf16"] is True
    assert training["report_to"] == ["wandb", "tensorboard"]  # Oumi's enable_tensorboard defaults to true
    assert training["save_strategy"] == "epoch"  # save_steps 0 with save_epoch
    assert training["resume"] == "auto"
    assert (training["eval_strategy"], training["eval_steps"]) == ("steps", 50)
    assert training["num_train_epochs"] == 2.0
    assert training["max_length"] == 2048  # from trainer_kwargs, a first-class gkd key
    assert training["extra_args"] == {"data_seed": 11}
    assert _unconverted(result) == {
        "data.train.datasets[0].dataset_name",
        "data.train.datasets[1]",
        "data.train.collator_name",
        "training.log_level",
        "fsdp",
    }


def test_oumi_lora_defaults_are_written_out_where_gkd_differs(tmp_path: Path) -> None:
    source = (FIXTURES / "oumi_gkd_lora.yaml").read_text().replace("  lora_r: 16\n  lora_alpha: 32\n", "")
    (tmp_path / "oumi.yaml").write_text(source)
    cfg = load_yaml(convert_file(tmp_path / "oumi.yaml", "oumi", "x.json").text)[0]
    assert (cfg["peft"]["r"], cfg["peft"]["lora_alpha"]) == (8, 8)  # PeftParams' defaults, not gkd's 16 and 32


def test_trl_full_training_command_keeps_trl_defaults_that_differ_from_gkd() -> None:
    result, cfg = _convert("trl_gkd_full.yaml")
    assert cfg["model"] == {"name_or_path": "Qwen/Qwen2-0.5B-Instruct", "dtype": "float32"}
    assert cfg["gkd"] == {
        "teacher_model_name_or_path": "Qwen/Qwen2-1.5B-Instruct",
        "teacher_model_init_kwargs": {"dtype": "float32"},
    }
    assert cfg["data"] == {"train": {"name": "trl-lib/chatbot_arena_completions", "split": "train"}}
    training = cfg["training"]
    assert training["gradient_checkpointing"] is True
    assert (training["learning_rate"], training["per_device_train_batch_size"]) == (2e-5, 4)
    assert (training["gradient_accumulation_steps"], training["num_train_epochs"]) == (8, 1.0)
    assert training["extra_args"] == {"push_to_hub": True}
    assert _unconverted(result) == set()
    assert "# Not converted" not in result.text


def test_trl_lora_config_loads_the_teacher_as_the_script_does() -> None:
    result, cfg = _convert("trl_gkd_lora.yaml")
    # gkd.py replaces teacher_model_init_kwargs with the student's dtype and attention.
    assert cfg["gkd"]["teacher_model_init_kwargs"] == {"dtype": "bfloat16", "attn_implementation": "sdpa"}
    assert {k: cfg["gkd"][k] for k in ("lmbda", "beta", "temperature", "max_new_tokens", "seq_kd")} == {
        "lmbda": 0.8, "beta": 1.0, "temperature": 0.7, "max_new_tokens": 256, "seq_kd": True,
    }  # fmt: skip
    assert cfg["peft"] == {"r": 64, "lora_alpha": 16}
    assert cfg["data"]["eval"] == {"name": "trl-lib/chatbot_arena_completions", "split": "test"}
    training = cfg["training"]
    assert (training["bf16"], training["gradient_checkpointing"], training["max_steps"]) == (True, False, 300)
    assert training["report_to"] == ["none"]
    assert training["extra_args"] == {"optim": "adamw_torch_fused"}
    assert _unconverted(result) == {
        "teacher_model_init_kwargs", "env", "load_in_4bit", "logging_steps", "lora_target_modules",
    }  # fmt: skip


def test_extra_args_the_oumi_mapping_writes_are_gkdconfig_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    gkd_config = pytest.importorskip("trl.experimental.gkd").GKDConfig

    from gkd_schema.convert.oumi_training import EXTRA_ARGS

    accepted = {f.name for f in dataclasses.fields(gkd_config)}
    assert set(EXTRA_ARGS.values()) - accepted == set()


def _paths(value: Any, loc: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [loc] + [p for k, v in value.items() for p in _paths(v, (*loc, k))] if loc else [
            p for k, v in value.items() for p in _paths(v, (k,))
        ]
    return [loc]


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.yaml")))
def test_a_value_of_any_type_anywhere_is_converted_or_refused_never_a_crash(name: str) -> None:
    original = load_yaml((FIXTURES / name).read_text())[0]
    plan = PLANNERS["oumi" if name.startswith("oumi") else "trl"]
    for loc in _paths(original):
        for odd in (None, "x", [1, "a"], {"k": 1}, 1.5, -1, True):
            changed = copy.deepcopy(original)
            node = changed
            for part in loc[:-1]:
                node = node[part]
            node[loc[-1]] = odd
            with contextlib.suppress(ConvertError):
                render_plan(plan(changed, PositionMap()), name, "x.json")


def test_an_odd_save_steps_is_listed_and_the_save_cadence_left_to_the_shared_default(tmp_path: Path) -> None:
    source = tmp_path / "oumi.yaml"
    source.write_text((FIXTURES / "oumi_gkd_example.yaml").read_text().replace("save_steps: 5", "save_steps: 0.5"))
    result = convert_file(source, "oumi", "x.json")
    assert "save_steps" not in load_yaml(result.text)[0]["training"]  # gkd's default 500 is Oumi's too
    assert "training.save_steps" in _unconverted(result)
    assert result.report.valid
