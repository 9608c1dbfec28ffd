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
import json, sys
from gkd_schema.cli.app import main
sys.argv = ["gkd", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps([code, sorted(m for m in sys.modules if m.startswith(("gkd_schema.cli.", "importlib.metadata")))]),
      file=sys.stderr)
"""


def _main(*argv: str) -> tuple[int, list[str]]:
    proc = subprocess.run([sys.executable, "-c", MAIN_PROBE, *argv], capture_output=True, text=True, timeout=120)
    code, loaded = json.loads(proc.stderr.strip().splitlines()[-1])
    return code, loaded


def test_the_entry_point_loads_only_the_command_it_runs_and_no_plugin_discovery() -> None:
    code, loaded = _main("validate", GOOD)
    assert code in (0, None)
    assert loaded == ["gkd_schema.cli.app", "gkd_schema.cli.options", "gkd_schema.cli.validate_cmd"]


@pytest.mark.parametrize("argv", [["--help"], ["valdate", GOOD], []], ids=["help", "typo", "nothing"])
def test_help_and_typos_see_every_command(argv: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-c", MAIN_PROBE, *argv], capture_output=True, text=True, timeout=120)
    for name in ("validate", "convert", "export", "plot"):
        assert name in proc.stdout + proc.stderr
    code, loaded = json.loads(proc.stderr.strip().splitlines()[-1])
    assert code == (0 if argv == ["--help"] else 2)
    assert "gkd_schema.cli.export_cmd" in loaded


def test_the_plugin_loader_gkd_replaces_has_pydantic_s_interface() -> None:
    """gkd's CLI stands in for `pydantic.plugin._loader`; pydantic must still import it as gkd assumes."""
    import inspect

    from pydantic.plugin import _loader, _schema_validator

    assert "from ._loader import get_plugins" in inspect.getsource(_schema_validator)
    assert not [p for p in inspect.signature(_loader.get_plugins).parameters.values() if p.default is p.empty]
