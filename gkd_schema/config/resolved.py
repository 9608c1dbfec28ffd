"""The fully resolved config (every default filled in), as YAML or JSON.

Used by `gkd show` and written into a run's output directory; validating the
output gives back the same config.
"""

from __future__ import annotations

import io
import json
from typing import Any, Literal

from ruamel.yaml import YAML

from gkd_schema.models import RunConfig

RESOLVED_HEADER = "# Resolved by gkd: every default filled in.\n"


def resolved_dict(config: RunConfig) -> dict[str, object]:
    """The config as plain data, with every default."""
    return config.model_dump(mode="json")


# ruamel.yaml writes these raw, and its scanner then reads them as line breaks (as YAML
# 1.1 did), so a string holding one would come back changed unless it is escaped.
_OLD_LINE_BREAKS = ("\x85", "\u2028", "\u2029")


def _represent_str(representer: Any, value: str) -> Any:
    style = '"' if any(char in value for char in _OLD_LINE_BREAKS) else None
    return representer.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def dump_resolved_yaml(config: RunConfig) -> str:
    """The resolved config as YAML 1.2 text."""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.representer.add_representer(str, _represent_str)
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    stream = io.StringIO()
    yaml.dump(resolved_dict(config), stream)
    return RESOLVED_HEADER + stream.getvalue()


def dump_resolved(config: RunConfig, output_format: Literal["yaml", "json"] = "yaml") -> str:
    """The resolved config as YAML or JSON text."""
    if output_format == "json":
        return json.dumps(resolved_dict(config), indent=2, allow_nan=False)
    return dump_resolved_yaml(config)
