"""What an editor user sees: yaml-language-server driven over LSP stdio with our schema.

Completion, hover and diagnostics come from the real server (the npm package
VS Code's YAML extension, Neovim's yamlls and Helix use), pointed at the
committed schema through the same modeline `gkd init` writes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT, run_installed_gkd, start_server
from lsp_client import LspClient
from typer.testing import CliRunner

from gkd_schema.artifacts.starter_config import MODELINE_PREFIX, write_starter_config
from gkd_schema.cli.app import app
from gkd_schema.models import DatasetSource, GkdSection, ModelSection, TrainingSection

pytestmark = pytest.mark.editor

SCHEMA = REPO_ROOT / "schemas" / "gkd-config.schema.json"
CASES = REPO_ROOT / "tests" / "schema" / "cases" / "agree"
BROKEN = """\
model:
  name_or_path: Qwen/Qwen2.5-0.5B-Instruct
gkd:
  teacher_model_name_or_path: Qwen/Qwen2.5-1.5B-Instruct
  temperature: 1.5
  lmbda: -0.1
  lamda: 0.5
  beta: 0.5
data:
  train:
    path: data/train.jsonl
training:
  output_dir: runs/x
"""
GKD_KEYS = (
    "temperature", "lmbda", "beta", "max_new_tokens", "seq_kd", "disable_dropout",
    "teacher_model_name_or_path",
)


def _with_modeline(body: str) -> str:
    return f"{MODELINE_PREFIX}{SCHEMA.as_uri()}\n{body}"


def _open(server: LspClient, path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return server.open_document(path, text)


def _position(text: str, needle: str, offset: int = 0) -> dict[str, int]:
    """The LSP position of the first `needle` in `text`, plus `offset` characters."""
    index = text.index(needle) + offset
    line = text.count("\n", 0, index)
    return {"line": line, "character": index - (text.rfind("\n", 0, index) + 1)}


def _summary(diagnostics: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(line, message) pairs, 0-based lines as LSP sends them."""
    return sorted((d["range"]["start"]["line"], d["message"]) for d in diagnostics)


def test_completion_inside_gkd_offers_the_knobs_with_their_docs(
    yaml_server: LspClient, tmp_path: Path
) -> None:
    text = _with_modeline(
        "model:\n  name_or_path: Qwen/Qwen2.5-0.5B-Instruct\ngkd:\n  \n"
        "data:\n  train:\n    path: data/train.jsonl\ntraining:\n  output_dir: runs/x\n"
    )
    uri = _open(yaml_server, tmp_path / "complete.yaml", text)
    result = yaml_server.request(
        "textDocument/completion",
        {"textDocument": {"uri": uri}, "position": _position(text, "gkd:\n  ", 7)},
    )
    items = {item["label"]: item for item in (result or {}).get("items", [])}
    for key in GKD_KEYS:
        assert key in items, f"{key} not offered; got {sorted(items)}"
        documentation = items[key]["documentation"]["value"]
        assert documentation.startswith(GkdSection.model_fields[key].description or "?"), key
    assert items["temperature"]["insertText"] == "temperature: ${1:0.9}"


def test_hover_on_beta_shows_its_description(yaml_server: LspClient, tmp_path: Path) -> None:
    text = _with_modeline(BROKEN)
    uri = _open(yaml_server, tmp_path / "hover.yaml", text)
    hover = yaml_server.request(
        "textDocument/hover",
        {"textDocument": {"uri": uri}, "position": _position(text, "  beta:", 3)},
    )
    value = hover["contents"]["value"]
    assert value.startswith("#### Beta\n\n")
    assert GkdSection.model_fields["beta"].description in value
    assert "Default: `0.5` · Range: [0, 1]" in value


def test_optional_keys_complete_and_hover_like_any_other(
    yaml_server: LspClient, tmp_path: Path
) -> None:
    """`X | None` fields and the optional `data.eval` section (`anyOf` with null)."""
    text = _with_modeline(
        "model:\n  name_or_path: Qwen/Qwen2.5-0.5B-Instruct\n"
        "  tokenizer_name_or_path: Qwen/Qwen2.5-0.5B-Instruct\n"
        "gkd:\n  teacher_model_name_or_path: Qwen/Qwen2.5-1.5B-Instruct\n"
        "data:\n  train:\n    path: data/train.jsonl\n  eval:\n    \n"
        "training:\n  output_dir: runs/x\n  max_steps: 10\n"
    )
    uri = _open(yaml_server, tmp_path / "optional.yaml", text)
    for key, model in (("tokenizer_name_or_path", ModelSection), ("max_steps", TrainingSection)):
        hover = yaml_server.request(
            "textDocument/hover",
            {"textDocument": {"uri": uri}, "position": _position(text, f"  {key}:", 3)},
        )
        assert (model.model_fields[key].description or "?") in hover["contents"]["value"], key
    result = yaml_server.request(
        "textDocument/completion",
        {"textDocument": {"uri": uri}, "position": _position(text, "  eval:\n    ", 12)},
    )
    items = {item["label"]: item for item in result["items"]}
    assert {"path", "name", "split", "max_samples"} <= items.keys()
    path_doc = items["path"]["documentation"]["value"]
    assert path_doc.startswith(DatasetSource.model_fields["path"].description or "?")


def test_diagnostics_flag_ranges_and_typos(yaml_server: LspClient, tmp_path: Path) -> None:
    text = _with_modeline(BROKEN)
    uri = _open(yaml_server, tmp_path / "broken.yaml", text)
    assert _summary(yaml_server.diagnostics(uri)) == [
        (5, "Value is above the maximum of 1."),
        (6, "Value is below the minimum of 0."),
        (7, "Property lamda is not allowed."),
    ]


def test_starter_config_outside_the_repository_has_no_diagnostics(
    yaml_server: LspClient, tmp_path: Path
) -> None:
    path = tmp_path / "gkd.yaml"
    result = CliRunner().invoke(app, ["init", str(path)])
    assert result.exit_code == 0
    text = path.read_text()
    assert text.startswith(MODELINE_PREFIX + "file:///")
    assert yaml_server.diagnostics(yaml_server.open_document(path, text)) == []


def test_relative_modeline_resolves(yaml_server: LspClient, tmp_path: Path) -> None:
    """The form `gkd init` writes inside the repository: `../schemas/...`."""
    (tmp_path / "schemas").mkdir()
    shutil.copy(SCHEMA, tmp_path / "schemas")
    (tmp_path / "configs").mkdir()
    path = tmp_path / "configs" / "gkd.yaml"
    write_starter_config(path, schema_ref="../schemas/gkd-config.schema.json")
    clean = path.read_text()
    assert yaml_server.diagnostics(yaml_server.open_document(path, clean)) == []
    broken = tmp_path / "configs" / "broken.yaml"
    text = clean.replace("temperature: 0.9", "temperature: 1.5")
    assert _summary(yaml_server.diagnostics(_open(yaml_server, broken, text))) == [
        (text[: text.index("temperature: 1.5")].count("\n"), "Value is above the maximum of 1.")
    ]


def test_starter_from_an_installed_wheel_has_no_diagnostics(
    yaml_server: LspClient, installed_wheel: Path, tmp_path: Path
) -> None:
    result = run_installed_gkd(installed_wheel, ["init", "gkd.yaml"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    path = tmp_path / "gkd.yaml"
    text = path.read_text()
    assert str(installed_wheel) in text.splitlines()[0]
    uri = yaml_server.open_document(path, text)
    assert yaml_server.diagnostics(uri) == []
    broken = text.replace("lmbda: 0.5", "lmbda: -0.1")
    broken_path = tmp_path / "broken.yaml"
    assert [m for _, m in _summary(yaml_server.diagnostics(_open(yaml_server, broken_path, broken)))] == [
        "Value is below the minimum of 0."
    ]


@pytest.mark.parametrize("path", sorted(CASES.glob("*/*.yaml")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_editor_agrees_with_the_schema_on_the_case_files(
    yaml_server: LspClient, tmp_path: Path, path: Path
) -> None:
    uri = _open(yaml_server, tmp_path / path.name, _with_modeline(path.read_text()))
    diagnostics = yaml_server.diagnostics(uri)
    if path.parent.name == "valid":
        assert diagnostics == []
    else:
        assert diagnostics, "the editor shows nothing wrong"


EXAMPLES = [
    path
    for path in sorted((REPO_ROOT / "examples").rglob("*.yaml"))
    if path.read_text(encoding="utf-8").startswith(MODELINE_PREFIX)
]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_shipped_examples_are_clean_in_the_editor(yaml_server: LspClient, path: Path) -> None:
    """The examples' own modelines (relative paths into `schemas/`) resolve and pass."""
    uri = yaml_server.open_document(path, path.read_text(encoding="utf-8"))
    try:
        assert _summary(yaml_server.diagnostics(uri)) == []
    finally:
        yaml_server.close_document(uri)


def test_vscode_settings_from_gkd_schema_apply_the_schema(tmp_path: Path) -> None:
    """`gkd schema --editor vscode` output, used as settings, maps files without a modeline."""
    printed = CliRunner().invoke(app, ["schema", "--editor", "vscode"])
    settings = json.loads(printed.stdout)["yaml.schemas"]
    server = start_server(tmp_path, schemas=settings)
    try:
        (tmp_path / "configs").mkdir()
        for name in ("gkd.yaml", "run1.gkd.yaml"):
            path = tmp_path / "configs" / name
            assert [m for _, m in _summary(server.diagnostics(_open(server, path, BROKEN)))] == [
                "Value is above the maximum of 1.",
                "Value is below the minimum of 0.",
                "Property lamda is not allowed.",
            ], name
        other = tmp_path / "configs" / "other.yaml"
        assert server.diagnostics(_open(server, other, BROKEN)) == []
    finally:
        server.shutdown()
