"""Every install line the docs show is one of the README's, and CI installs the same extras."""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def _shell_lines(text: str) -> list[str]:
    blocks = re.findall(r"```(?:bash|sh|console)\n(.*?)```", text, re.S)
    return [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]


def _canonical() -> set[str]:
    readme = (REPO_ROOT / "README.md").read_text("utf-8")
    block = re.search(r"<!-- install:[^>]*-->\n```bash\n(.*?)```", readme, re.S)
    assert block is not None, "README.md lost its `<!-- install: ... -->` block"
    return {line.strip() for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")}


def test_every_training_install_line_in_the_docs_is_a_readme_line() -> None:
    canonical = _canonical()
    assert len(canonical) == 2  # one for CPU-only machines, one for GPU machines
    for doc in DOCS:
        for line in _shell_lines(doc.read_text("utf-8")):
            if line.startswith("pip install") and ("torch" in line or "[train" in line):
                assert line in canonical, f"{doc.name}: {line!r}"


def test_the_cpu_line_installs_the_cpu_build_before_the_project() -> None:
    cpu = next(line for line in _canonical() if "torch" in line)
    first, second = cpu.split(" && ")
    assert first == "pip install torch --index-url https://download.pytorch.org/whl/cpu"
    assert second == 'pip install -e ".[train,dev]"'


def test_ci_installs_the_same_extras_after_a_cpu_torch() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text("utf-8")
    torch_at, project_at = ci.index('pip install --quiet "torch=='), ci.index('pip install --quiet -e ".[train,dev]"')
    assert torch_at < project_at
