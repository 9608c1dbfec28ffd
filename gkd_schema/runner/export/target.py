"""The export's OUT_DIR: refuse what would lose work, and put a finished export in place.

An export is written into a hidden staging folder beside OUT_DIR and moved in only when
complete, so a failed one leaves OUT_DIR as it was. A non-empty OUT_DIR is written into
only with `--overwrite`, which removes the files an export writes (model, adapter and
tokenizer files) and nothing else, as `gkd run --overwrite` does in an output_dir.
OUT_DIR may not be the run directory, inside it or above it: the run's own files (and
`gkd run --overwrite` on it) must never meet an export's.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gkd_schema.runner.export.source import ExportError

# What `save_pretrained` of a model, a PEFT adapter and a tokenizer writes.
EXPORT_FILES = frozenset(
    {
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "model.safetensors.index.json",
        "pytorch_model.bin",
        "pytorch_model.bin.index.json",
        "adapter_config.json",
        "adapter_model.safetensors",
        "adapter_model.bin",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
        "chat_template.jinja",
        "chat_template.json",
        "tokenizer.model",
        "spiece.model",
        "vocab.json",
        "merges.txt",
    }
)
_SHARD = re.compile(r"^(model|pytorch_model)-\d+-of-\d+\.(safetensors|bin)$")


def is_export_file(name: str) -> bool:
    """Whether an export writes a file of this name (shards included)."""
    return name in EXPORT_FILES or _SHARD.match(name) is not None


def check_out_dir(out_dir: Path, run_dir: Path, *, overwrite: bool) -> None:
    """Refuse an OUT_DIR that is a file, overlaps the run, or is occupied without `--overwrite`.

    Raises:
        ExportError: Why OUT_DIR cannot be used, and what to do instead.
    """
    out, run = out_dir.resolve(), run_dir.resolve()
    if out == run or run in out.parents or out in run.parents:
        raise ExportError(
            f"OUT_DIR {out_dir} is the run directory, inside it or above it; export to a folder of its own"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"OUT_DIR {out_dir} is a file, not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        names = sorted(child.name for child in out_dir.iterdir())
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        raise ExportError(
            f"OUT_DIR {out_dir} is not empty (it holds {shown}); gkd export will not write into it. "
            "Choose another folder, or pass --overwrite to replace a previous export there"
        )


@contextmanager
def staging_dir(out_dir: Path) -> Iterator[Path]:
    """A hidden folder beside OUT_DIR to write the export into; removed afterwards."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def place(staging: Path, out_dir: Path) -> list[Path]:
    """Move a complete export into OUT_DIR, first removing a previous export's files there.

    Returns:
        The files now in OUT_DIR that the export wrote.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for child in out_dir.iterdir():
        if child.is_file() and is_export_file(child.name):
            child.unlink()
    placed = []
    for child in sorted(staging.iterdir()):
        target = out_dir / child.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        shutil.move(str(child), target)
        placed.append(target)
    return placed
