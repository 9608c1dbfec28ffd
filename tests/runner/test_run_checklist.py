"""One list of checks for `gkd validate --deep`, `gkd run --dry-run` and `gkd run`."""

from __future__ import annotations

import ast
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gkd_schema.cli.app import app
from gkd_schema.config.yaml_loader import load_yaml
from gkd_schema.runner.preflight.checklist import CHECKS, render_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tiny_models
from hub_cache import fake_hub_model

REPO_ROOT = Path(__file__).resolve().parents[2]
PREFLIGHT = REPO_ROOT / "gkd_schema" / "runner" / "preflight"
# Calls that name a diagnostic type, and where the type is when passed by position.
_TYPE_POSITION = {"Diagnostic": 2, "_Problem": 0, "FormatProblem": 0}


def test_the_docs_table_is_the_list() -> None:
    page = (REPO_ROOT / "docs" / "preflight.md").read_text("utf-8")
    block = re.search(r"<!-- checks:[^>]*-->\n(.*?)<!-- /checks -->", page, re.S)
    assert block is not None
    assert block.group(1) == render_table()


def _emitted_types() -> set[str]:
    found = set()
    for path in PREFLIGHT.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            position = _TYPE_POSITION.get(node.func.id)
            if position is None:
                continue
            args = {kw.arg: kw.value for kw in node.keywords}
            value = args.get("type", node.args[position] if len(node.args) > position else None)
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(value.value)
    return found


def test_every_type_preflight_emits_is_in_the_list_and_none_is_stale() -> None:
    listed = {check.type for check in CHECKS}
    emitted = _emitted_types()
    assert len(emitted) > 30  # the scan found the calls at all
    assert emitted - listed == set()
    assert listed - emitted == set()


def _types(output: str) -> list[str]:
    return sorted(d["type"] for d in json.loads(output)["files"][0]["errors"])


WRONG_EVERYWHERE = {
    "gkd": {"loss_implementation": "liger"},
    "peft": {"load_in_4bit": True},  # QLoRA: no CUDA and no bitsandbytes here
    "training": {
        "max_length": 1024,  # the tiny models have 512 positions
        "report_to": ["wandb"],
        "resume": "./checkpoints/checkpoint-9",
        "extra_args": {"logging_first_stpe": True, "dataloader_num_workers": "2"},
    },
}
EXPECTED = sorted(
    [
        "extra_arg_wrong_type",
        "liger_needs_cuda",
        "liger_not_installed",
        "max_length_exceeds_positions",
        "qlora_needs_cuda",
        "qlora_not_installed",
        "resume_checkpoint_missing",
        "tracker_not_installed",
        "unknown_extra_arg",
    ]
)


@pytest.mark.parametrize(
    "command",
    [["validate", "--deep"], ["run", "--dry-run"], ["run"]],
    ids=["validate --deep", "run --dry-run", "run"],
)
def test_the_three_commands_report_the_same_errors_before_any_weights_load(
    write_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    if shutil.which("nvidia-smi") or Path("/dev/nvidia0").exists():
        pytest.skip("liger_needs_cuda is expected only without a GPU")
    monkeypatch.chdir(tmp_path)
    cfg = write_config(tmp_path, **WRONG_EVERYWHERE)
    result = CliRunner().invoke(app, [*command, str(cfg), "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert _types(result.stdout or result.output) == EXPECTED
    assert not (tmp_path / "out").exists()  # nothing was written, so nothing was loaded


def test_the_full_example_passes_a_dry_run_with_its_models_cached_and_data_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """examples/full.yaml as written: tiny stand-ins under its Hub ids and data paths."""
    config, _ = load_yaml((REPO_ROOT / "examples" / "full.yaml").read_text("utf-8"))
    cache = tmp_path / "hub"
    for repo_id, hidden in ((config["model"]["name_or_path"], 32), (config["gkd"]["teacher_model_name_or_path"], 64)):
        stand_in = tiny_models.build_model(
            tmp_path / "stand-ins" / repo_id, hidden_size=hidden, max_position_embeddings=4096
        )
        fake_hub_model(cache, repo_id, stand_in)
    for split in ("train", "eval"):
        tiny_models.write_messages_jsonl(tmp_path / config["data"][split]["path"], rows=8)
    shutil.copy(REPO_ROOT / "examples" / "full.yaml", tmp_path / "full.yaml")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["run", "full.yaml", "--dry-run"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "GKDConfig(" in result.output
    assert not (tmp_path / config["training"]["output_dir"]).exists()
