"""Shared fixtures: tiny local teacher/student models, a `messages` JSONL, config files.

Nothing here touches the Hugging Face Hub: models and tokenizers are built with
`tests/tiny_models.py` and saved with `save_pretrained` into a session temp dir.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

# Tests import `tiny_models` as a top-level module.
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner in an environment without `GKD_*` variables (they would override the configs)."""
    for key in list(os.environ):
        if key.upper().startswith("GKD_"):
            monkeypatch.delenv(key)
    return CliRunner()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip `fuzz` tests unless `-m` names them; skip `gpu` tests without CUDA.

    torch is imported only when a `gpu` test is collected.
    """
    if "fuzz" not in (config.getoption("markexpr") or ""):
        for item in items:
            if item.get_closest_marker("fuzz"):
                item.add_marker(pytest.mark.skip(reason="a long fuzzing run: select it with `-m fuzz`"))
    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu_items:
        return
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if not has_cuda:
        for item in gpu_items:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU (marker `gpu`)"))


TEACHER_HIDDEN = 64
STUDENT_HIDDEN = 32
TRAIN_ROWS = 16


@pytest.fixture(scope="session")
def tiny_models_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session directory holding the tiny models and data."""
    return tmp_path_factory.mktemp("tiny")


@pytest.fixture(scope="session")
def tiny_teacher_dir(tiny_models_root: Path) -> Path:
    """A tiny random OLMo-2 teacher (hidden 64, 2 layers) with a chat-template tokenizer."""
    import tiny_models

    return tiny_models.build_model(
        tiny_models_root / "teacher", hidden_size=TEACHER_HIDDEN, num_layers=2, seed=1
    )


@pytest.fixture(scope="session")
def tiny_student_dir(tiny_models_root: Path) -> Path:
    """A tiny random OLMo-2 student (hidden 32, 2 layers), same vocabulary as the teacher."""
    import tiny_models

    return tiny_models.build_model(
        tiny_models_root / "student", hidden_size=STUDENT_HIDDEN, num_layers=2, seed=2
    )


@pytest.fixture(scope="session")
def messages_jsonl(tiny_models_root: Path) -> Path:
    """A JSONL file of short `messages` conversations ending with an assistant turn."""
    import tiny_models

    return tiny_models.write_messages_jsonl(tiny_models_root / "train.jsonl", rows=TRAIN_ROWS)


def minimal_config_dict(
    teacher: Path, student: Path, data: Path, output_dir: Path
) -> dict[str, Any]:
    """A small valid run config (as a dict) for the tiny models: a few CPU steps."""
    return {
        "model": {"name_or_path": str(student), "dtype": "float32"},
        "gkd": {
            "teacher_model_name_or_path": str(teacher),
            "teacher_model_init_kwargs": {"dtype": "float32"},
            "lmbda": 0.5,
            "beta": 0.5,
            "temperature": 0.9,
            "max_new_tokens": 8,
        },
        "data": {"train": {"path": str(data)}},
        "training": {
            "output_dir": str(output_dir),
            "max_steps": 4,
            "per_device_train_batch_size": 2,
            "learning_rate": 1e-3,
            "logging_steps": 1,
            "save_steps": 2,
            "max_length": 64,
            "seed": 0,
            "report_to": ["none"],
        },
    }


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Merge `overrides` into `base` recursively; a None value deletes the key."""
    out = dict(base)
    for key, value in overrides.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


WriteConfig = Callable[..., Path]


@pytest.fixture
def write_config(
    tiny_teacher_dir: Path, tiny_student_dir: Path, messages_jsonl: Path
) -> Iterator[WriteConfig]:
    """A function `write_config(tmp_path, **section_overrides) -> Path`.

    It writes `tmp_path/cfg.yaml`: the minimal valid config for the tiny models with
    `training.output_dir` at `tmp_path/out`. Each keyword names a top-level section
    (`gkd={"lmbda": 1.0}`, `peft={"r": 4}`) merged into the default recursively; a
    None value removes a key (`training={"max_steps": None}`). `filename=` changes
    the file name.
    """
    from ruamel.yaml import YAML

    def _write(tmp_path: Path, filename: str = "cfg.yaml", **section_overrides: Any) -> Path:
        cfg = minimal_config_dict(
            tiny_teacher_dir, tiny_student_dir, messages_jsonl, tmp_path / "out"
        )
        cfg = _merge(cfg, section_overrides)
        path = tmp_path / filename
        yaml = YAML(typ="safe", pure=True)
        yaml.default_flow_style = False
        with path.open("w", encoding="utf-8") as fh:
            yaml.dump(cfg, fh)
        return path

    yield _write
