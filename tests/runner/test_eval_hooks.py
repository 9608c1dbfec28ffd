"""The `gkd run` hooks of `gkd eval`: when they score and when they step aside."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gkd_schema.runner.eval import run_hooks


def _context(tmp_path: Path, *, eval_dataset: Any, sharded: bool, processes: int) -> Any:
    trainer = SimpleNamespace(
        is_deepspeed_enabled=sharded,
        is_fsdp_enabled=False,
        accelerator=SimpleNamespace(num_processes=processes),
        model=None,
        teacher_model=None,
    )
    lines: list[str] = []
    return SimpleNamespace(
        config=None,
        output_dir=tmp_path,
        trainer=trainer,
        tokenizer=None,
        train_dataset=[],
        eval_dataset=eval_dataset,
        echo=lines.append,
        lines=lines,
    )


@pytest.mark.parametrize(
    ("eval_dataset", "sharded", "processes", "said"),
    [
        (None, False, 1, "No `data.eval` split"),
        ([{"messages": []}], True, 2, "Sharded multi-process training"),
    ],
)
def test_hooks_skip_without_held_out_data_or_with_sharded_weights(
    tmp_path: Path, eval_dataset: Any, sharded: bool, processes: int, said: str
) -> None:
    context = _context(tmp_path, eval_dataset=eval_dataset, sharded=sharded, processes=processes)
    run_hooks.before_training(context)
    run_hooks.after_training(context)
    assert len(context.lines) == 1 and context.lines[0].startswith(said)  # said once, not twice
    assert not (tmp_path / run_hooks.EVAL_FILE).exists()
