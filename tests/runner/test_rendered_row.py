"""The first training row as the student's template renders it (`--dry-run`), and the teacher's own template."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from gkd_schema.cli.app import app


def test_dry_run_shows_the_first_row_rendered_and_what_the_teacher_reads(write_config: Any, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", str(write_config(tmp_path)), "--dry-run"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("First row:"))
    assert "the completion" in lines[at]
    assert lines[at + 1].strip().startswith("'<|user|>") and "<|assistant|>" in lines[at + 1]
    assert "the teacher reads these same" in lines[at + 2]
    assert "never uses the teacher's own chat template" in lines[at + 2]


def _deep(cfg: Path) -> list[dict[str, Any]]:
    """The warnings of `gkd validate --deep` (after checking it found no error)."""
    result = CliRunner().invoke(app, ["validate", "--deep", str(cfg), "--format", "json"])
    report = json.loads(result.stdout)["files"][0]
    assert report["errors"] == [], report["errors"]
    return list(report["warnings"])


def test_a_teacher_with_its_own_chat_template_is_a_warning_showing_both(
    write_config: Any, tmp_path: Path, tiny_teacher_dir: Path
) -> None:
    teacher = tmp_path / "teacher"
    shutil.copytree(tiny_teacher_dir, teacher)
    template = "{% for m in messages %}### {{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    jinja = teacher / "chat_template.jinja"  # where transformers saves a tokenizer's template
    assert jinja.is_file()
    jinja.write_text(template)
    found = _deep(write_config(tmp_path, gkd={"teacher_model_name_or_path": str(teacher)}))
    differs = [f for f in found if f["type"] == "teacher_chat_template_differs"]
    assert len(differs) == 1, found
    assert "### user:" in differs[0]["message"] and "<|user|>" in differs[0]["message"]
    assert "`model.chat_template`" in differs[0]["message"]


def test_the_same_template_on_both_sides_says_nothing(write_config: Any, tmp_path: Path) -> None:
    assert not [f for f in _deep(write_config(tmp_path)) if f["type"] == "teacher_chat_template_differs"]
