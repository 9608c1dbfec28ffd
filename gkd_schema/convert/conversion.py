"""Convert one source file: read it, plan the gkd keys, write the text, validate it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gkd_schema.config.validation import FileReport, validate_data
from gkd_schema.config.yaml_loader import PositionMap, load_yaml
from gkd_schema.convert.oumi import plan_oumi
from gkd_schema.convert.plan import ConversionPlan, SourceTool
from gkd_schema.convert.reading import read_source
from gkd_schema.convert.render import render_plan
from gkd_schema.convert.trl import plan_trl

PLANNERS: dict[SourceTool, Callable[[dict[str, Any], PositionMap], ConversionPlan]] = {
    "oumi": plan_oumi,
    "trl": plan_trl,
}


@dataclass(frozen=True)
class Conversion:
    """A converted config.

    Attributes:
        text: The gkd config, commented.
        plan: What was converted from where, and what was not.
        report: `gkd validate`'s verdict on `text` (no overrides, no environment).
    """

    text: str
    plan: ConversionPlan
    report: FileReport


def convert_file(path: Path, tool: SourceTool, schema_ref: str, output_name: str = "<converted>") -> Conversion:
    """Convert the `tool` config at `path` into a gkd config and validate the result.

    Args:
        path: The source config (it must exist; callers report a missing file).
        tool: Which tool's format it is in.
        schema_ref: What the output's yaml-language-server modeline points at.
        output_name: How reports name the output (its path, when written to one).

    Returns:
        The text, the plan and the validation report of the text.

    Raises:
        ConvertError: the source is unreadable, invalid YAML, or not `tool`'s format.
    """
    data, positions = read_source(path)
    plan = PLANNERS[tool](data, positions)
    text = render_plan(plan, str(path), schema_ref)
    report = FileReport(path=output_name)
    converted, report.positions = load_yaml(text)
    return Conversion(text, plan, validate_data(converted, report))
