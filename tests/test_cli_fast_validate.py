"""`gkd validate` read by gkd's own parser: what Typer would print, and Typer for the rest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gkd_schema.cli import fast_validate
from gkd_schema.cli.app import app

CONFIGS = Path(__file__).parent / "configs"
GOOD = str(CONFIGS / "positive" / "minimal.yaml")
TYPOS = str(CONFIGS / "negative" / "typos.yaml")
RULES = str(CONFIGS / "negative" / "rules.yaml")

# Each line as pre-commit or CI would write it; both readers must print the same.
SAME = [
    [GOOD],
    [TYPOS],
    [GOOD, TYPOS, RULES],
    ["-q", GOOD, TYPOS],
    ["--quiet", TYPOS],
    ["--format", "json", GOOD, TYPOS],
    ["--format=github", TYPOS],
    ["-f", "json", GOOD],
    [GOOD, "--set", "gkd.beta=2"],
    ["--set=gkd.beta=0.5", "--set", "gkd.lmbda=0.5", GOOD],
    ["--set", "gkd.beta", GOOD],
    ["--set", "gkd.beta=[", GOOD],
    ["--format", "yaml", GOOD],
    ["--format=", GOOD],
    ["missing.yaml"],
    [str(CONFIGS)],
    ["--offline", GOOD],
]


@pytest.mark.parametrize("argv", SAME, ids=" ".join)
def test_the_fast_path_prints_what_typer_prints(
    argv: list[str], runner: CliRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    typer_result = runner.invoke(app, ["validate", *argv])
    code = fast_validate.run(["validate", *argv])
    out, err = capsys.readouterr()
    assert (code, out, err) == (typer_result.exit_code, typer_result.stdout, typer_result.stderr)


def test_the_fast_path_reads_every_option_in_any_order() -> None:
    args = fast_validate.parse(
        ["validate", "a.yaml", "--deep", "-q", "--set", "x=1", "b.yaml", "--format=json", "--set=y=2", "--offline"]
    )
    assert args is not None
    assert [str(p) for p in args.configs] == ["a.yaml", "b.yaml"]
    assert (args.output_format, args.sets, args.quiet, args.deep, args.offline) == ("json", ["x=1", "y=2"], True,
                                                                                     True, True)


@pytest.mark.parametrize(
    "argv",
    [
        [], ["--version"], ["show", GOOD], ["validate"], ["validate", "--help"], ["validate", "-x", GOOD],
        ["validate", "--", GOOD], ["validate", "-"], ["validate", "-qf", "json", GOOD], ["validate", "-fjson", GOOD],
        ["validate", "-f=json", GOOD], ["validate", GOOD, "--format"], ["validate", "--set", "-x", GOOD],
        ["validate", "--quiet=1", GOOD], ["validate", "--no-quiet", GOOD],
    ],
    ids=lambda argv: " ".join(argv) or "nothing",
)
def test_any_other_line_is_left_to_typer(argv: list[str]) -> None:
    assert fast_validate.parse(argv) is None


def _gkd(*argv: str, prelude: str = "") -> subprocess.CompletedProcess[str]:
    code = f"{prelude}import sys; sys.argv = ['gkd', *sys.argv[1:]]; from gkd_schema.cli.entry import main; main()"
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)


def test_the_console_script_exits_with_the_code_after_all_its_output() -> None:
    good, bad = _gkd("validate", GOOD), _gkd("validate", "-f", "json", TYPOS, RULES)
    assert (good.returncode, good.stdout, good.stderr) == (0, f"{GOOD}: valid\n", "")
    assert bad.returncode == 1 and bad.stdout.rstrip().endswith("}") and bad.stderr == ""


def test_what_asked_to_run_at_exit_still_runs() -> None:
    # A coverage tool or a sitecustomize registers with atexit; the quick exit must not skip it.
    result = _gkd("validate", GOOD, prelude="import atexit; atexit.register(print, 'at exit'); ")
    assert (result.returncode, result.stdout) == (0, f"{GOOD}: valid\nat exit\n")


def test_lines_typer_reads_still_get_its_help_and_errors() -> None:
    helped, unknown = _gkd("validate", "--help"), _gkd("validate", "--bogus", GOOD)
    assert helped.returncode == 0 and "--format" in helped.stdout
    assert unknown.returncode == 2 and "No such option: --bogus" in unknown.stderr
