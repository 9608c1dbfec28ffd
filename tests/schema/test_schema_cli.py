"""`gkd schema` and `gkd init` through the Typer app, for every exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from schema_oracles import REPO_ROOT
from typer.testing import CliRunner

from gkd_schema.artifacts.reference_docs import render_reference
from gkd_schema.artifacts.schema_export import SchemaBlock, packaged_schema_path, render_schema
from gkd_schema.artifacts.starter_config import MODELINE_PREFIX
from gkd_schema.cli.app import app

runner = CliRunner()


def test_schema_prints_the_committed_schema() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert result.stdout == (REPO_ROOT / "schemas" / "gkd-config.schema.json").read_text()


def test_schema_prints_the_gkd_block_and_the_markdown_reference() -> None:
    gkd = runner.invoke(app, ["schema", "--block", "gkd"])
    assert gkd.exit_code == 0 and gkd.stdout == render_schema(SchemaBlock.GKD)
    markdown = runner.invoke(app, ["schema", "--format", "markdown"])
    assert markdown.exit_code == 0 and markdown.stdout == render_reference()


def test_schema_output_writes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "s.json"
    result = runner.invoke(app, ["schema", "--output", str(target)])
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text() == render_schema()


@pytest.mark.parametrize("committed", ["schemas/gkd-config.schema.json", "docs/reference.md"])
def test_schema_check_passes_on_committed_files(committed: str) -> None:
    fmt = "markdown" if committed.endswith(".md") else "json"
    result = runner.invoke(app, ["schema", "--format", fmt, "--check", str(REPO_ROOT / committed)])
    assert result.exit_code == 0, result.output


def test_schema_check_fails_with_a_key_level_summary(tmp_path: Path) -> None:
    schema = json.loads(render_schema())
    schema["definitions"]["GkdSection"]["properties"]["temperature"]["maximum"] = 2
    del schema["definitions"]["GkdSection"]["properties"]["beta"]
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(schema, indent=2))
    result = runner.invoke(app, ["schema", "--check", str(stale)])
    assert result.exit_code == 1
    assert "changed /definitions/GkdSection/properties/temperature/maximum: 2 -> 1" in result.stderr
    assert "added /definitions/GkdSection/properties/beta" in result.stderr
    assert f"gkd schema --block config --format json --output {stale}" in result.stderr


def test_schema_check_of_markdown_shows_lines(tmp_path: Path) -> None:
    stale = tmp_path / "reference.md"
    stale.write_text(render_reference().replace("(0, 1]", "(0, 2]"))
    result = runner.invoke(app, ["schema", "--format", "markdown", "--check", str(stale)])
    assert result.exit_code == 1
    assert "+| `temperature` | number | `0.9` | (0, 1]" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["schema", "--check", "missing.json"], "no such file: missing.json"),
        (["schema", "--output", "a.json", "--check", "b.json"], "not both"),
        (["schema", "--editor", "vscode", "--output", "a.json"], "cannot be combined"),
        (["schema", "--output", "no/such/dir/s.json"], "does not exist"),
    ],
)
def test_schema_usage_errors_exit_2_with_one_sentence(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_schema_check_of_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema", "--check", str(tmp_path)])
    assert result.exit_code == 2 and "not a text file" in result.stderr


def test_unknown_block_is_a_usage_error() -> None:
    assert runner.invoke(app, ["schema", "--block", "nope"]).exit_code == 2


@pytest.mark.parametrize("editor", ["vscode", "neovim", "helix"])
def test_schema_editor_prints_settings_with_the_installed_schema(editor: str) -> None:
    result = runner.invoke(app, ["schema", "--editor", editor])
    assert result.exit_code == 0
    assert packaged_schema_path().as_posix() in result.stdout
    assert "**/gkd.yaml" in result.stdout
    if editor == "vscode":
        settings = json.loads(result.stdout)
        assert list(settings["yaml.schemas"]) == [packaged_schema_path().as_posix()]


def test_init_writes_a_starter_outside_the_repository(tmp_path: Path) -> None:
    target = tmp_path / "gkd.yaml"
    result = runner.invoke(app, ["init", str(target), "--student", "./student"])
    assert result.exit_code == 0, result.output
    first = target.read_text().splitlines()[0]
    assert first == MODELINE_PREFIX + packaged_schema_path().as_uri()
    assert "name_or_path: ./student" in target.read_text()


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    target = tmp_path / "gkd.yaml"
    target.write_text("mine\n")
    refused = runner.invoke(app, ["init", str(target)])
    assert refused.exit_code == 2
    assert refused.stderr.strip() == f"gkd: {target} already exists; pass --force to overwrite it"
    assert target.read_text() == "mine\n"
    forced = runner.invoke(app, ["init", str(target), "--force"])
    assert forced.exit_code == 0 and target.read_text().startswith(MODELINE_PREFIX)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--student", "Qwen 2.5"], "--student 'Qwen 2.5' contains whitespace"),
        (["--teacher", "https://huggingface.co/Qwen/Qwen2.5-1.5B"], "use the repo id `Qwen/Qwen2.5-1.5B`"),
        (["--teacher", ""], "--teacher '' must name a model"),
    ],
)
def test_init_rejects_bad_model_ids(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "gkd.yaml"), *args])
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "gkd.yaml").exists()


def test_init_into_a_directory_or_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 2
    result = runner.invoke(app, ["init", str(tmp_path / "nope" / "gkd.yaml")])
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_init_with_an_explicit_schema_reference(tmp_path: Path) -> None:
    url = "https://example.org/gkd-config.schema.json"
    result = runner.invoke(app, ["init", str(tmp_path / "g.yaml"), "--schema", url])
    assert result.exit_code == 0
    assert (tmp_path / "g.yaml").read_text().splitlines()[0] == MODELINE_PREFIX + url


def test_init_help_shows_the_models_descriptions() -> None:
    result = runner.invoke(app, ["init", "--help"], terminal_width=200)
    words = " ".join(result.stdout.replace("│", " ").split())
    assert "It must share the student's tokenizer" in words
