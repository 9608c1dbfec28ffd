"""The generated files committed to the repository, and how to regenerate them.

`python -m gkd_schema.artifacts [REPO_ROOT]` rewrites all of them; the drift
tests compare each with its freshly rendered text. The schemas exist twice on
purpose: `schemas/` is what people link to in the repository, and
`gkd_schema/schemas/` ships in the wheel for `gkd init` modelines.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from gkd_schema.artifacts.reference_docs import render_reference
from gkd_schema.artifacts.schema_export import SCHEMA_FILE_NAMES, SchemaBlock, render_schema


@dataclass(frozen=True)
class Artifact:
    """A generated file: where it lives (relative to the repo root) and its renderer."""

    path: str
    render: Callable[[], str]


ARTIFACTS: tuple[Artifact, ...] = (
    *(
        Artifact(f"{folder}/{SCHEMA_FILE_NAMES[block]}", partial(render_schema, block))
        for folder in ("schemas", "gkd_schema/schemas")
        for block in SchemaBlock
    ),
    Artifact("docs/reference.md", render_reference),
)


def write_artifacts(root: Path) -> list[Path]:
    """Regenerate every artifact under `root`; returns the files written."""
    written = []
    for artifact in ARTIFACTS:
        target = root / artifact.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(artifact.render(), encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    """Regenerate the artifacts under the repository root given (default: here)."""
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        print("usage: python -m gkd_schema.artifacts [REPO_ROOT]", file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    root = Path(argv[0] if argv else ".")
    if not (root / "pyproject.toml").is_file():
        print(f"{root} is not the gkd repository root (no pyproject.toml)", file=sys.stderr)
        return 2
    for written_path in write_artifacts(root):
        print(f"wrote {written_path}")
    return 0

