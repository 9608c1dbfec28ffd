"""The fast commands never import the training stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ["torch", "transformers", "trl", "datasets", "accelerate", "peft"]
GOOD = str(Path(__file__).parent / "configs" / "positive" / "minimal.yaml")
OUMI = str(Path(__file__).parent / "convert" / "fixtures" / "oumi_gkd_lora.yaml")
TRL = str(Path(__file__).parent / "convert" / "fixtures" / "trl_gkd_lora.yaml")

PROBE = """
import json, sys
from gkd_schema.cli.app import app
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
except Exception as exc:  # usage errors in standalone_mode=False
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in %r)), file=sys.stderr)
""".replace("%r", repr(HEAVY))


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["validate", GOOD], ["validate", "--format", "json", GOOD], ["show", GOOD],
     ["schema"], ["validate", "--help"], ["export", "--help"],
     ["convert", "--from", "oumi", OUMI], ["convert", "--from", "trl", TRL]],
    ids=" ".join,
)
def test_command_imports_no_heavy_module(argv: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120
    )
    loaded = json.loads(proc.stderr.strip().splitlines()[-1])
    assert loaded == [], f"{argv} imported {loaded}"


MAIN_PROBE = """
import gc, json, os, sys
from gkd_schema.cli.entry import main
sys.argv = ["gkd", *sys.argv[1:]]

def report(code, done=[]):
    if not done:
        done.append(code)
        prefixes = ("gkd_schema.cli.", "importlib.metadata", "typer", "click")
        loaded = sorted(m for m in sys.modules if m.startswith(prefixes))
        print(json.dumps([code, loaded, gc.isenabled()]), file=sys.stderr)

# The console script leaves through os._exit after a validation; report first.
os._exit = lambda code: (report(code), sys.exit(code))
try:
    main()
except SystemExit as exc:
    report(exc.code)
"""


def _main(*argv: str) -> tuple[int, list[str], bool]:
    proc = subprocess.run([sys.executable, "-c", MAIN_PROBE, *argv], capture_output=True, text=True, timeout=120)
    code, loaded, gc_enabled = json.loads(proc.stderr.strip().splitlines()[-1])
    return code, loaded, gc_enabled


def test_validate_runs_without_typer_and_no_plugin_discovery() -> None:
    code, loaded, gc_enabled = _main("validate", GOOD)
    assert code == 0
    assert loaded == [
        "gkd_schema.cli.entry", "gkd_schema.cli.fast_validate", "gkd_schema.cli.usage", "gkd_schema.cli.validate_core"
    ]
    assert gc_enabled


def test_other_commands_load_typer_and_only_their_own_module() -> None:
    code, loaded, gc_enabled = _main("show", GOOD)
    assert code == 0
    assert "gkd_schema.cli.show_cmd" in loaded and "gkd_schema.cli.validate_cmd" not in loaded and "typer" in loaded
    assert not [m for m in loaded if m.startswith("importlib.metadata")]
    assert gc_enabled


@pytest.mark.parametrize("argv", [["--help"], ["valdate", GOOD], []], ids=["help", "typo", "nothing"])
def test_help_and_typos_see_every_command(argv: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-c", MAIN_PROBE, *argv], capture_output=True, text=True, timeout=120)
    for name in ("validate", "convert", "export", "plot"):
        assert name in proc.stdout + proc.stderr
    code, loaded, _ = json.loads(proc.stderr.strip().splitlines()[-1])
    assert code == (0 if argv == ["--help"] else 2)
    assert "gkd_schema.cli.export_cmd" in loaded


def test_the_plugin_loader_gkd_replaces_has_pydantic_s_interface() -> None:
    """gkd's CLI stands in for `pydantic.plugin._loader`; pydantic must still import it as gkd assumes."""
    import inspect

    from pydantic.plugin import _loader, _schema_validator

    assert "from ._loader import get_plugins" in inspect.getsource(_schema_validator)
    assert not [p for p in inspect.signature(_loader.get_plugins).parameters.values() if p.default is p.empty]
