"""A Hub model that is not cached is checked from its config and tokenizer, fetched without its weights.

The Hub is `tests/hub_server.py` on 127.0.0.1: huggingface_hub's real client downloads
from it, and it records every path asked for.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gkd_schema.cli.app import app
from gkd_schema.config.validation import validate_file
from gkd_schema.runner.preflight.checklist import check_run

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hub_server import FakeHub

TEACHER = ["gkd", "teacher_model_name_or_path"]
REPO = "org/teacher"
COMMANDS = {"run": ["run", "--dry-run"], "validate": ["validate", "--deep"]}


@pytest.fixture
def permuted_teacher(tmp_path: Path, tiny_teacher_dir: Path) -> Path:
    """The tiny teacher with two token ids swapped: same vocab_size, other tokens."""
    folder = tmp_path / "permuted-teacher"
    shutil.copytree(tiny_teacher_dir, folder)
    path = folder / "tokenizer.json"
    data = json.loads(path.read_text())
    vocab = data["model"]["vocab"]
    vocab["a"], vocab["b"] = vocab["b"], vocab["a"]
    path.write_text(json.dumps(data))
    return folder


@pytest.fixture
def hub(online: pytest.MonkeyPatch, fake_hub: FakeHub) -> FakeHub:
    online.setenv("HF_ENDPOINT", fake_hub.endpoint)
    return fake_hub


def _cache() -> Path:
    return Path(os.environ["HF_HUB_CACHE"])


def _check(write_config: Any, tmp_path: Path, command: str, *args: str) -> tuple[int, list[dict[str, Any]]]:
    cfg = write_config(tmp_path, gkd={"teacher_model_name_or_path": REPO})
    argv = [COMMANDS[command][0], str(cfg), COMMANDS[command][1], "--format", "json", *args]
    result = CliRunner().invoke(app, argv, catch_exceptions=False)
    if not result.output.startswith("{"):  # a dry run with nothing to report prints its plan only
        return result.exit_code, []
    found = json.JSONDecoder().raw_decode(result.output)[0]["files"][0]
    diagnostics = [d | {"severity": "error"} for d in found["errors"]]
    diagnostics += [d | {"severity": "warning"} for d in found["warnings"]]
    return result.exit_code, [d for d in diagnostics if d["loc"] == TEACHER]


def _snapshot_files(repo: str) -> set[str]:
    snapshots = _cache() / f"models--{repo.replace('/', '--')}" / "snapshots"
    return {p.name for p in snapshots.glob("*/*")}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_teacher_that_is_not_cached_is_checked_before_any_weights(
    write_config: Any, tmp_path: Path, hub: FakeHub, permuted_teacher: Path, command: str
) -> None:
    hub.repos[REPO] = permuted_teacher
    code, teacher = _check(write_config, tmp_path, command)
    assert code == 1
    assert [(d["type"], d["severity"]) for d in teacher] == [("tokenizer_mismatch", "error")]
    served = {p.name for p in permuted_teacher.iterdir()}
    assert "model.safetensors" in served and "tokenizer.json" in served
    assert _snapshot_files(REPO) == served - {"model.safetensors"}
    assert hub.requested(".safetensors") == []


def test_a_fetched_teacher_leaves_its_weights_to_the_run(
    write_config: Any, tmp_path: Path, hub: FakeHub, tiny_teacher_dir: Path
) -> None:
    hub.repos[REPO] = tiny_teacher_dir
    cfg = write_config(tmp_path, gkd={"teacher_model_name_or_path": REPO})
    report = validate_file(cfg, [])
    assert report.config is not None
    check = check_run(report.config, base_dir=tmp_path)
    assert [d for d in check.diagnostics if list(d.loc) == TEACHER] == []
    assert check.plan is not None
    assert check.plan.offline is False  # the weights are still to download
    assert "model.safetensors" not in _snapshot_files(REPO)


@pytest.mark.parametrize("switch", ["--offline", "HF_HUB_OFFLINE"])
@pytest.mark.parametrize("command", COMMANDS)
def test_offline_fetches_nothing_and_a_missing_teacher_is_an_error(
    write_config: Any, tmp_path: Path, hub: FakeHub, online: pytest.MonkeyPatch, tiny_teacher_dir: Path,
    command: str, switch: str,
) -> None:  # fmt: skip
    hub.repos[REPO] = tiny_teacher_dir
    if switch == "HF_HUB_OFFLINE":
        online.setenv("HF_HUB_OFFLINE", "1")
    code, teacher = _check(write_config, tmp_path, command, *([switch] if switch.startswith("--") else []))
    assert code == 1
    assert [d["type"] for d in teacher] == ["hub_offline_not_cached"]
    assert f"`{switch}` is" in teacher[0]["message"]
    assert hub.seen == []


def test_a_teacher_fetched_without_weights_is_an_error_offline(
    write_config: Any, tmp_path: Path, hub: FakeHub, tiny_teacher_dir: Path
) -> None:
    hub.repos[REPO] = tiny_teacher_dir
    assert _check(write_config, tmp_path, "run") == (0, [])
    hub.seen.clear()
    code, teacher = _check(write_config, tmp_path, "run", "--offline")
    assert code == 1
    assert [d["type"] for d in teacher] == ["hub_offline_not_cached"]
    assert "weights" in teacher[0]["message"]
    assert hub.seen == []


@pytest.mark.parametrize(
    ("serve", "expected"),
    [
        ("nothing", "hub_repo_not_found"),
        ("gated", "hub_gated"),
        ("no weights", "no_weights"),
        ("no config", "not_a_model"),
    ],
)
def test_a_teacher_the_hub_cannot_give_is_a_located_error(
    write_config: Any, tmp_path: Path, hub: FakeHub, tiny_teacher_dir: Path, serve: str, expected: str
) -> None:
    folder = tmp_path / "served"
    shutil.copytree(tiny_teacher_dir, folder)
    if serve != "nothing":
        hub.repos[REPO] = folder
    if serve == "gated":
        hub.gated.add(REPO)
    if serve == "no weights":
        (folder / "model.safetensors").unlink()
    if serve == "no config":
        (folder / "config.json").unlink()
    code, teacher = _check(write_config, tmp_path, "run")
    assert code == 1
    assert [(d["type"], d["severity"]) for d in teacher] == [(expected, "error")]
    assert "gkd.teacher_model_name_or_path" in teacher[0]["message"]


def test_a_student_revision_the_hub_lacks_is_an_error_at_that_key(
    write_config: Any, tmp_path: Path, hub: FakeHub, tiny_student_dir: Path
) -> None:
    hub.repos["org/student"] = tiny_student_dir
    cfg = write_config(tmp_path, model={"name_or_path": "org/student", "revision": "v9"})
    result = CliRunner().invoke(app, ["run", str(cfg), "--dry-run", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 1
    errors = json.loads(result.output)["files"][0]["errors"]
    assert [(e["loc"], e["type"]) for e in errors] == [(["model", "revision"], "hub_revision_not_found")]


def test_the_cli_in_its_own_process_fetches_from_hf_endpoint(
    write_config: Any, tmp_path: Path, fake_hub: FakeHub, permuted_teacher: Path
) -> None:
    # huggingface_hub reads HF_ENDPOINT and HF_HUB_OFFLINE once, at import: a fresh
    # process is what a user runs.
    fake_hub.repos[REPO] = permuted_teacher
    cfg = write_config(tmp_path, gkd={"teacher_model_name_or_path": REPO})
    cache = tmp_path / "hub-cache"
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env |= {"HF_ENDPOINT": fake_hub.endpoint, "HF_HUB_CACHE": str(cache)}
    done = subprocess.run(
        [sys.executable, "-m", "gkd_schema", "run", str(cfg), "--dry-run", "--format", "json"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-2000:]
    errors = json.loads(done.stdout or done.stderr)["files"][0]["errors"]
    assert [e["type"] for e in errors if e["loc"] == TEACHER] == ["tokenizer_mismatch"]
    assert (cache / "models--org--teacher" / "refs" / "main").is_file()
    assert fake_hub.requested(".safetensors") == []
