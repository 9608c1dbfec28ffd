"""The GPU acceptance script's CPU smoke: the same rows at tiny shapes, so the script never rots."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_acceptance.py"


def test_cpu_smoke_runs_every_row_and_reports_the_table(tmp_path: Path) -> None:
    report_path = tmp_path / "acceptance.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--cpu-smoke", "--json", str(report_path), "--workdir", str(tmp_path / "w")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(report_path.read_text())
    rows = {r["row"]: r for r in report["results"]}
    assert sorted(rows) == list(range(1, 9))
    assert "skipped" in rows[5]  # liger needs CUDA
    for number in (1, 2, 3, 4, 6, 7, 8):
        row = rows[number]
        assert row["step_mean_s"] > 0 and row["estimate_gib"] > 0 and row["final_loss"] is not None, row
    assert rows[2]["gen_tokens_per_s"] > 0 and rows[1]["gen_tokens_per_s"] is None  # lmbda 1 vs 0
    assert all(value is not None for value in report["ratios"].values())
    assert "| 2 | gkd chunked, lmbda 1 |" in done.stdout


def test_a_child_that_dies_fails_its_rows_in_one_line_each(tmp_path: Path) -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    import gpu_acceptance

    not_a_folder = tmp_path / "workdir"
    not_a_folder.write_text("a file where the assets would go")
    results = gpu_acceptance._spawn(not_a_folder, "smoke", [1, 2], timeout=120)
    assert sorted(r["row"] for r in results) == [1, 2]
    assert all(r["error"].startswith("exit 1: ") and "\n" not in r["error"] for r in results)
    assert "FileExistsError" in results[0]["error"]


def test_the_wheelhouse_reads_the_host_freeze_and_gkds_requirements(tmp_path: Path) -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    import gpu_wheels

    freeze = tmp_path / "freeze.txt"
    freeze.write_text("# comment\ntorch==2.11.0\nHuggingFace_Hub\npandas==2.2.3  # trailing\n")
    assert gpu_wheels.host_packages(freeze) == {"torch": "2.11.0", "huggingface-hub": None, "pandas": "2.2.3"}
    names = {r.split(">")[0].split("=")[0].split("<")[0].strip() for r in gpu_wheels.requirements()}
    assert {"pydantic", "ruamel.yaml", "trl", "datasets", "torch"} <= names
    assert "matplotlib" not in names  # plots only; not needed on the GPU host


def test_the_wheelhouse_fails_above_its_cap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    import gpu_wheels

    (tmp_path / "a-1.0-py3-none-any.whl").write_bytes(b"x" * 3 * 2**20)
    assert gpu_wheels.sizes(tmp_path, cap_mib=4) == 0
    assert gpu_wheels.sizes(tmp_path, cap_mib=2) == 1
    assert "3.00 MiB  total in 1 wheels (cap 2 MiB)" in capsys.readouterr().out
