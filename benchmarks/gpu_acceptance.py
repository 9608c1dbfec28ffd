"""`gkd run` on a GPU, proven: eight short runs at Qwen2.5-0.5B / 1.5B shapes, one table.

    python benchmarks/gpu_acceptance.py [--json PATH] [--workdir DIR] [--rows 1,2,7]
    python benchmarks/gpu_acceptance.py --cpu-smoke      # the same code at tiny shapes

Needs nothing from the Hub: `gpu_assets.py` builds the models (random weights, real
shapes, bf16), the tokenizer and the data in `--workdir`. On a GPU each row runs in a
process of its own with its own timeout, so a crash or a hang costs one row; a failed
row prints its error in one line and the others still run. `--cpu-smoke` runs every
row in one child process (importing the training stack costs ~15 s per process on a
2-core CI machine) and is what CI runs, so the script never rots.

The table: step time (mean, median; the first step left out), on-policy completion
tokens per second of generation, peak GPU memory (`torch.cuda.max_memory_allocated`)
beside the preflight's estimate, the last logged loss, and the mean-step ratios of
gkd's rows 2 and 1 to TRL's rows 7 and 8.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_acceptance_rows import ROWS

ASSET_TIMEOUT_S = 420
ROW_TIMEOUT_S = {"gpu": 150, "smoke": 240}
RATIOS = ((2, 7), (1, 8))  # (gkd row, TRL row) at the same lmbda


def _child(workdir: Path, scale: str, numbers: list[int]) -> None:
    """Build the assets if needed, run the rows, print one JSON line per row."""
    from gpu_acceptance_rows import run_row
    from gpu_assets import ensure_assets

    ensure_assets(workdir, scale)
    for number in numbers:
        row = next(r for r in ROWS if r.number == number)
        try:
            result = run_row(row, workdir, scale)
        except Exception as exc:  # one row's failure must not hide the others
            result = {"row": number, "name": row.name, "error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
        print("ROW " + json.dumps(result), flush=True)


def _spawn(workdir: Path, scale: str, numbers: list[int], timeout: float) -> list[dict[str, Any]]:
    """Run `numbers` in one child process; rows it did not report are failures."""
    cmd = [sys.executable, __file__, "--child", ",".join(map(str, numbers)), "--workdir", str(workdir)]
    cmd += ["--cpu-smoke"] if scale == "smoke" else []
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        out, err, why = proc.stdout, proc.stderr, f"exit {proc.returncode}"
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err, why = "", f"timed out after {timeout:.0f} s"
    results = [json.loads(line[4:]) for line in out.splitlines() if line.startswith("ROW ")]
    seen = {r["row"] for r in results}
    last = next((line for line in reversed(err.splitlines()) if line.strip()), "")
    for number in numbers:
        if number not in seen:
            name = next(r.name for r in ROWS if r.number == number)
            results.append({"row": number, "name": name, "error": f"{why}: {last}".strip(": ")})
    return results


def _environment() -> dict[str, Any]:
    probe = (
        "import json, platform, torch, transformers, trl; print(json.dumps({'python': platform.python_version(), "
        "'torch': torch.__version__, 'transformers': transformers.__version__, 'trl': trl.__version__, "
        "'device': torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu'}))"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else {"error": proc.stderr.strip()[-300:]}


def _cell(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| # | row | mean step s | median step s | gen tok/s | peak GiB | estimate GiB | final loss |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(results, key=lambda r: r["row"]):
        if "error" in r or "skipped" in r:
            outcome = f"failed: {r['error']}" if "error" in r else f"skipped: {r['skipped']}"
            lines.append(f"| {r['row']} | {r['name']} | {outcome} |")
            continue
        lines.append(
            f"| {r['row']} | {r['name']} | {r['step_mean_s']:.3f} | {r['step_median_s']:.3f} | "
            f"{_cell(r['gen_tokens_per_s'], '.0f')} | {_cell(r['peak_gib'], '.2f')} | "
            f"{_cell(r['estimate_gib'], '.2f')} | {_cell(r['final_loss'], '.4f')} |"
        )
    return "\n".join(lines)


def ratios(results: list[dict[str, Any]]) -> dict[str, float | None]:
    """Mean step of each gkd row over the TRL-defaults row at the same lmbda."""
    by_row = {r["row"]: r for r in results if "step_mean_s" in r}
    return {
        f"row{a}/row{b}": by_row[a]["step_mean_s"] / by_row[b]["step_mean_s"] if a in by_row and b in by_row else None
        for a, b in RATIOS
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny shapes on the CPU (what CI runs)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--workdir", type=Path, help="where to build the models and data (default: a temporary folder)")
    parser.add_argument("--rows", default=",".join(str(r.number) for r in ROWS), help="rows to run, e.g. 1,2,7")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    scale = "smoke" if args.cpu_smoke else "gpu"
    if args.child is not None:
        _child(args.workdir, scale, [int(n) for n in args.child.split(",") if n])
        return 0
    numbers = [int(n) for n in args.rows.split(",")]
    with tempfile.TemporaryDirectory(prefix="gkd-accept-") as tmp:
        workdir = args.workdir or Path(tmp)
        started = time.perf_counter()
        if scale == "smoke":
            results = _spawn(workdir, scale, numbers, ASSET_TIMEOUT_S + ROW_TIMEOUT_S[scale])
        else:
            results = _spawn(workdir, scale, [], ASSET_TIMEOUT_S)  # build the assets alone
            for number in numbers:
                results += _spawn(workdir, scale, [number], ROW_TIMEOUT_S[scale])
        report = {"scale": scale, "environment": _environment(), "results": sorted(results, key=lambda r: r["row"]),
                  "ratios": ratios(results), "wall_s": time.perf_counter() - started}
    print(f"gkd GPU acceptance ({scale}): {report['environment']}\n")
    print(_table(report["results"]))
    print("\nmean step, gkd / TRL defaults: " + ", ".join(
        f"{k} {'-' if v is None else f'{v:.2f}x'}" for k, v in report["ratios"].items()))
    print(f"wall time {report['wall_s']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    failed = [r for r in results if "error" in r]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
