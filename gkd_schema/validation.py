"""Check one config file: load it, apply overrides, validate, run cross-field rules.

This is the single pipeline behind `gkd validate`, `gkd show` and `gkd run`; it
returns a `FileReport` and never raises for a bad config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gkd_schema.diagnostics import Diagnostic
from gkd_schema.models import RunConfig


@dataclass
class FileReport:
    """What validating one config file found.

    Attributes:
        path: The file as the user named it.
        errors: Problems that make the config unusable.
        warnings: Problems worth a look that do not fail validation.
        config: The validated config, or None when there are errors.
    """

    path: str
    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    config: RunConfig | None = None

    @property
    def valid(self) -> bool:
        """True when the file has no errors (warnings allowed)."""
        return not self.errors

    def add(self, diagnostic: Diagnostic) -> None:
        """Add a diagnostic found later (preflight), placed at its key's line."""
        raise NotImplementedError


def validate_file(
    path: str | Path,
    overrides: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> FileReport:
    """Validate one config file with `--set` overrides and environment variables.

    Args:
        path: The YAML file.
        overrides: `KEY=VALUE` strings from `--set`, highest precedence.
        environ: Environment to read `GKD_*` variables from; `os.environ` when None.

    Returns:
        The report; `report.config` is set when the file is valid.
    """
    raise NotImplementedError
