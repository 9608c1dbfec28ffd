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
