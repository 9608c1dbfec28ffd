"""Wall time of `gkd validate` against a bare interpreter, `import torch` and TRL's GKD import.

Runs the commands interleaved, round after round, in fresh processes, and prints the
median of each and their ratios. gkd's modules are byte-compiled first, as `pip
install` leaves them: a checkout run with PYTHONDONTWRITEBYTECODE (these machines set
it) would otherwise compile gkd from source in every process, and torch's modules are
byte-compiled. Usage:

    python benchmarks/cli_startup.py [--rounds 15] [--baseline REV]

`--baseline REV` adds a row for `gkd validate examples/minimal.yaml` run from a git
worktree of REV (byte-compiled too), interleaved with the others.
"""

from __future__ import annotations

import argparse
import compileall
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# gkd configs only: examples/accelerate/ holds accelerate's configs, which gkd validate refuses.
EXAMPLES = sorted(str(p) for p in (ROOT / "examples").rglob("*.yaml") if "accelerate" not in p.parts)


FLOOR = """
import sys, types
from typing import Annotated
loader = types.ModuleType("pydantic.plugin._loader")  # no plugin discovery, as gkd's CLI
loader.get_plugins = lambda: ()
sys.modules[loader.__name__] = loader
from pydantic import BaseModel, ConfigDict, Field
class M(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    a: Annotated[int, Field(ge=0)] = 1
import ruamel.yaml
"""


def _gkd_command() -> list[str]:
    exe = shutil.which("gkd", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "gkd_schema"]


def _validate_from(tree: Path) -> list[str]:
    """`gkd validate examples/minimal.yaml` with gkd imported from `tree`, through the CLI's entry point."""
    code = (
        f"import sys; sys.path.insert(0, {str(tree)!r}); sys.argv = ['gkd', 'validate', 'examples/minimal.yaml']\n"
        "try:\n    from gkd_schema.cli.entry import main\n"
        "except ImportError:  # a revision from before the console script moved\n"
        "    from gkd_schema.cli.app import main\n"
        "main()"
    )
    return [sys.executable, "-c", code]


def _worktree(rev: str, parent: Path) -> Path:
    tree = parent / "baseline"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), rev], check=True)
    compileall.compile_dir(tree / "gkd_schema", quiet=1)
    return tree


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
    parser.add_argument("--baseline", help="a git revision to compare with")
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "gkd_schema", quiet=1)
    with tempfile.TemporaryDirectory() as scratch:
        baseline = _worktree(args.baseline, Path(scratch)) if args.baseline else None
        try:
            _measure(args.rounds, args.baseline, baseline)
        finally:
            if baseline is not None:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)], check=False)


def _measure(rounds: int, rev: str | None, baseline: Path | None) -> None:
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "gkd validate examples/minimal.yaml": [*_gkd_command(), "validate", "examples/minimal.yaml"],
        f"gkd validate examples/**/*.yaml ({len(EXAMPLES)} files)": [*_gkd_command(), "validate", *EXAMPLES],
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
        "python -c 'import trl.experimental.gkd'": [sys.executable, "-c", "import trl.experimental.gkd"],
    }
    # What any pydantic validation reading YAML costs, and nothing of gkd: its floor.
    commands["python -c 'one pydantic model; import ruamel.yaml'"] = [sys.executable, "-c", FLOOR]
    if baseline is not None:
        commands["  same, this tree via main()"] = _validate_from(ROOT)
        commands[f"  same, at {rev} via main()"] = _validate_from(baseline)
    for cmd in commands.values():  # warm the file cache once
        _time(cmd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, cmd in commands.items():
            times[name].append(_time(cmd))
    medians = {name: statistics.median(values) for name, values in times.items()}
    one_name, all_name, torch_name, trl_name = list(commands)[1:5]
    print(f"{'command':<56} {'median s':>9} {'vs validate':>12}")
    for name, median in medians.items():
        print(f"{name:<56} {median:>9.3f} {median / medians[one_name]:>11.2f}x")
    for name in (one_name, all_name):
        print(
            f"\n{name}: {medians[name]:.3f} s median over {rounds} rounds; "
            f"{medians[torch_name] / medians[name]:.1f}x faster than `import torch`, "
            f"{medians[trl_name] / medians[name]:.1f}x faster than importing TRL's GKD stack."
        )


if __name__ == "__main__":
    main()
