"""Wall time of `gkd validate` on hostile and large inputs: every one is refused or checked quickly.

The tests bound the work (values built and copied, events, bytes read); this script
gives the wall-clock figures for the worst inputs those tests use: alias and merge
bombs, nesting far past the depth limit, too many values, a 50 MB file, and a valid
1 MB config. Each is timed in process (`validate_file`) and once through the CLI in a
fresh process (startup included). Usage:

    python benchmarks/yaml_limits.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "hostile"))

from bombs import alias_bomb, big_config, deep_flow, flat_values, nested_merges  # noqa: E402

from gkd_schema.config.validation import validate_file  # noqa: E402


def _inputs() -> dict[str, Callable[[Path], None]]:
    def text(content: str) -> Callable[[Path], None]:
        return lambda path: path.write_text(content, encoding="utf-8")

    def sparse(path: Path) -> None:
        with path.open("wb") as handle:
            handle.truncate(50_000_000)

    return {
        "valid 1 MB config (7,400 extra_args)": text(big_config(1_000_000)),
        "nested merges, 12 levels x8 (1.3 kB)": text(nested_merges()),
        "alias bomb, 9 levels x9 (0.3 kB)": text(alias_bomb()),
        "flow nesting 400,000 deep (0.8 MB)": text(deep_flow(400_000)),
        "20,010 values in one list (60 kB)": text(flat_values(20_010)),
        "one 1 MB string": text("a: " + "x" * 999_990 + "\n"),
        "50 MB file": sparse,
    }


def _gkd_command() -> list[str]:
    exe = shutil.which("gkd", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "gkd_schema"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{'input':<42} {'result':<16} {'in-process s':>12} {'CLI s':>7}")
    with tempfile.TemporaryDirectory() as folder:
        for name, write in _inputs().items():
            path = Path(folder) / "input.yaml"
            write(path)
            times = []
            for _ in range(args.rounds):
                start = time.perf_counter()
                report = validate_file(path, environ={})
                times.append(time.perf_counter() - start)
            result = "valid" if report.valid else report.errors[0].type
            start = time.perf_counter()
            proc = subprocess.run([*_gkd_command(), "validate", "-q", str(path)], capture_output=True)
            cli = time.perf_counter() - start
            if proc.returncode not in (0, 1) or b"Traceback" in proc.stderr:
                raise SystemExit(f"{name}: exit {proc.returncode}\n{proc.stderr.decode()}")
            print(f"{name:<42} {result:<16} {statistics.median(times):>12.3f} {cli:>7.2f}")


if __name__ == "__main__":
    main()
