"""A normal run prints gkd's own lines and the progress bar, nothing else."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

# tqdm's bar, with or without a description (`Loading weights:  50%|...| 1/2 [...]`).
_BAR = re.compile(r"^\s*(?:[\w ]+: )?\d+%\|[^|]*\|[^\]]*\]")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Every line shape gkd prints in a run without `data.eval`.
SHAPES = [
    re.compile(pattern)
    for pattern in (
        r"^gkd run(: finished)?$",
        r"^  [a-z][a-z -]{1,9} +\S.*$",  # banner and summary rows: a label, then the value
        r"^step \d+: [a-z_]+ \S+(, [a-z_]+ \S+)*$",  # one log event
        r"^No `data\.eval` split: skipping the held-out evaluation table\.$",
        r"^Loss and learning-rate curves: \S+training_curves\.png$",
        r"^\S+\.yaml:\d+:\d+: warning: [a-z_.]+: .+$",  # a config warning, as `gkd validate` prints it
        r"^\S+\.yaml: valid \(\d+ warnings?\)$",
    )
]


def _lines(text: str) -> list[str]:
    out = []
    for raw in re.split(r"[\r\n]", _ANSI.sub("", text)):
        line = _BAR.sub("", raw).rstrip()
        if line.strip():
            out.append(line)
    return out


def _run(cfg: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "gkd_schema", "run", str(cfg)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "gkd_schema" not in done.stdout + done.stderr  # no internal module names
    return _lines(done.stdout) + _lines(done.stderr)


def test_a_run_and_its_resume_print_only_gkds_lines_and_the_progress_bar(write_config: Any, tmp_path: Path) -> None:
    training = {"max_steps": 4, "logging_steps": 2, "save_steps": 2, "resume": "auto"}
    first = _run(write_config(tmp_path, training=training))
    assert any(line.startswith("step 2: loss ") for line in first)
    # A resume loads a checkpoint (where transformers reports tied weights as missing).
    resumed = _run(write_config(tmp_path, training={**training, "max_steps": 6}))
    assert any("resume from checkpoint-4" in line for line in resumed)
    strays = [line for line in first + resumed if not any(shape.match(line) for shape in SHAPES)]
    assert strays == [], "\n".join(strays)


# The note under the table, which rich wraps to the terminal's width.
TABLE_NOTE = (
    "exact: answer equals the reference; agree: greedy completion identical to the teacher's. Divergences "
    "to the teacher in nats per token (rev KL = KL(model||teacher), fwd KL = KL(teacher||model)) on the "
    "model's own completions and on the dataset's."
)
# The held-out evaluation table and its notes (`runner/eval/report.py`), as a run prints them.
EVAL_SHAPES = [
    re.compile(pattern)
    for pattern in (
        r"^ *Before (and after )?training \(held-out prompts\) *$",
        r"^ +own +own +own +data +data +data$",  # the table's two header rows
        r"^model +exact +agree( +(rev KL|fwd KL|JSD))+$",
        r"^─+$",
        r"^(teacher|student \((before|after)\)) +\d+\.\d%( +\d+\.\d+%?)+$",
        r"^\d+ prompts \(eval split\), greedy completions of at most \d+ tokens\. exact: *$",
        r"^Student exact match \d+\.\d% -> \d+\.\d% \(teacher \d+\.\d%\); reverse KL .+ nats/token\.$",
    )
]


def test_a_run_with_evaluation_data_prints_the_table_and_nothing_else(
    write_config: Any, messages_jsonl: Path, tmp_path: Path
) -> None:
    training = {"max_steps": 2, "logging_steps": 1, "save_steps": 2}
    lines = _run(write_config(tmp_path, data={"eval": {"path": str(messages_jsonl)}}, training=training))
    assert any(line.startswith("student (after)") for line in lines)
    shapes = [s for s in SHAPES if "data\\.eval" not in s.pattern] + EVAL_SHAPES
    strays = [
        line
        for line in lines
        if not any(shape.match(line) for shape in shapes) and " ".join(line.split()) not in TABLE_NOTE
    ]
    assert strays == [], "\n".join(strays)
