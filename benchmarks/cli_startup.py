"""Wall time of `gkd validate` against a bare interpreter, `import torch` and TRL's GKD import.

Runs the three commands interleaved, round after round, in fresh processes, and
prints the median of each and their ratios. Usage:

    python benchmarks/cli_startup.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# gkd configs only: examples/accelerate/ holds accelerate's configs, which gkd validate refuses.
EXAMPLES = sorted(str(p) for p in (ROOT / "examples").rglob("*.yaml") if "accelerate" not in p.parts)


def _gkd_command() -> list[str]:
    exe = shutil.which("gkd", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "gkd_schema"]


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        f"gkd validate examples/**/*.yaml ({len(EXAMPLES)} files)": [*_gkd_command(), "validate", *EXAMPLES],
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
        "python -c 'import trl.experimental.gkd'": [sys.executable, "-c", "import trl.experimental.gkd"],
    }
    for cmd in commands.values():  # warm the file cache once
        _time(cmd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.rounds):
        for name, cmd in commands.items():
            times[name].append(_time(cmd))
    medians = {name: statistics.median(values) for name, values in times.items()}
    validate_name = list(commands)[1]
    print(f"{'command':<48} {'median s':>9} {'vs validate':>12}")
    for name, median in medians.items():
        print(f"{name:<48} {median:>9.3f} {median / medians[validate_name]:>11.2f}x")
    torch_name, trl_name = list(commands)[2:4]
    print(
        f"\ngkd validate: {medians[validate_name]:.3f} s median over {args.rounds} rounds; "
        f"{medians[torch_name] / medians[validate_name]:.1f}x faster than `import torch`, "
        f"{medians[trl_name] / medians[validate_name]:.1f}x faster than importing TRL's GKD stack."
    )


if __name__ == "__main__":
    main()
