"""Check one config file: load it, apply overrides, validate, run cross-field rules.

This is the single pipeline behind `gkd validate`, `gkd show` and `gkd run`; it
returns a `FileReport` and never raises for a bad config.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gkd_schema.config.cross_field import rules_on_valid_sections
from gkd_schema.config.diagnostics import Diagnostic, Loc
from gkd_schema.config.error_messages import diagnostics_from_errors
from gkd_schema.config.overrides import (
    Override,
    apply_overrides,
    env_overrides,
    origin_of,
    parse_set_option,
)
from gkd_schema.config.section_rules import section_rule_errors
from gkd_schema.config.yaml_loader import (
    PositionMap,
    YamlLoadError,
    decode_config_bytes,
    load_yaml,
    read_config_bytes,
)
from gkd_schema.models import RunConfig
from gkd_schema.models.rules import check_rules
from gkd_schema.models.run_config import COLLECT_RULES


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
    positions: PositionMap = field(default_factory=PositionMap, repr=False)
    origins: dict[Loc, str] = field(default_factory=dict, repr=False)

    @property
    def valid(self) -> bool:
        """True when the file has no errors (warnings allowed)."""
        return not self.errors

    def add(self, diagnostic: Diagnostic) -> None:
        """Add a diagnostic, placed at its key's line or its override's origin."""
        placed = self._place(diagnostic)
        (self.errors if placed.severity == "error" else self.warnings).append(placed)
        if placed.severity == "error":
            self.config = None

    def _place(self, diagnostic: Diagnostic) -> Diagnostic:
        if diagnostic.line is not None or diagnostic.origin is not None:
            return diagnostic
        origin = origin_of(diagnostic.loc, self.origins)
        if origin is not None:
            return diagnostic._replace(origin=origin)
        mark = self.positions.locate(
            diagnostic.loc, prefer_key=diagnostic.type in ("extra_forbidden", "duplicate_key")
        )
        if mark is None:
            return diagnostic
        message = diagnostic.message
        alias = self.positions.alias_of(diagnostic.loc)
        if alias is not None:  # the line is the alias; the value to fix is at the anchor
            message += f" (through the alias `*{alias.anchor}` of `&{alias.anchor}` on line {alias.anchor_mark.line})"
        return diagnostic._replace(line=mark.line, column=mark.column, message=message)


def parse_overrides(
    sets: Sequence[str], environ: Mapping[str, str] | None = None
) -> list[Override]:
    """Environment overrides, then `--set` ones (so `--set` wins).

    Raises:
        OverrideSyntaxError: a malformed `--set`.
    """
    return [*env_overrides(environ), *(parse_set_option(text) for text in sets)]


def validate_data(
    data: Any, report: FileReport, overrides: Sequence[Override] = ()
) -> FileReport:
    """Validate already-loaded YAML data into `report`."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        report.add(
            Diagnostic(
                loc=(),
                message=(
                    f"the file is {kind}; a config is a mapping with the sections "
                    "`model`, `gkd`, `data` and `training` (run `gkd init` for a starter)"
                ),
                type="empty_file" if data is None else "not_a_mapping",
                line=1 if data is not None else None,
                column=1 if data is not None else None,
            )
        )
        return report
    report.origins = apply_overrides(data, overrides)
    non_finite = _non_finite(data)
    for loc, value in non_finite.items():
        report.add(Diagnostic(loc, f"must be a finite number, got {_yaml_number(value)}", "finite_number"))
    try:
        config = RunConfig.model_validate(data, context={COLLECT_RULES: True})
    except ValidationError as exc:
        errors = exc.errors()
        skipped = section_rule_errors(RunConfig, data, [e["loc"] for e in errors])  # pydantic skipped them
        diagnostics = diagnostics_from_errors([*errors, *skipped], RunConfig, data)  # type: ignore[list-item]
        for diagnostic in diagnostics:
            if diagnostic.type != "finite_number" and diagnostic.loc not in non_finite:  # said above
                report.add(diagnostic)
        broken = {str(d.loc[0]) for d in diagnostics if d.loc} | {str(loc[0]) for loc in non_finite if loc}
        findings = rules_on_valid_sections(data, broken)
    else:
        findings = check_rules(config)
        report.config = None if non_finite else config
    for finding in findings:
        report.add(Diagnostic(finding.loc, finding.message, finding.type, finding.severity))
    return report


def _non_finite(data: Any) -> dict[Loc, float]:
    """Every NaN and infinity in the data, free-form mappings (`training.extra_args`) included."""
    found: dict[Loc, float] = {}
    stack: list[tuple[Loc, Any]] = [((), data)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            found[loc] = value
        elif isinstance(value, dict):
            stack.extend(((*loc, key), item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend(((*loc, index), item) for index, item in enumerate(value))
    return found


def _yaml_number(value: float) -> str:
    """`.nan`, `.inf` or `-.inf`, as the value is written in YAML."""
    if math.isnan(value):
        return ".nan"
    return ".inf" if value > 0 else "-.inf"


def validate_file(
    path: str | Path,
    overrides: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> FileReport:
    """Validate one config file with `--set` overrides and environment variables.

    Args:
        path: The YAML file. It must exist (callers report a missing file as a
            usage error before calling this).
        overrides: `KEY=VALUE` strings from `--set`, highest precedence.
        environ: Environment to read `GKD_*` variables from; `os.environ` when None.

    Returns:
        The report; `report.config` is set when the file is valid.

    Raises:
        OverrideSyntaxError: a malformed `--set` string.
    """
    report = FileReport(path=str(path))
    parsed = parse_overrides(overrides, environ)
    try:
        with Path(path).open("rb") as stream:
            raw = read_config_bytes(stream)
    except OSError as exc:
        report.add(Diagnostic((), f"cannot read the file: {exc.strerror}", "unreadable_file"))
        return report
    except YamlLoadError as exc:
        report.add(_load_diagnostic(exc))
        return report
    try:
        data, report.positions = load_yaml(decode_config_bytes(raw))
    except YamlLoadError as exc:
        report.add(_load_diagnostic(exc))
        return report
    return validate_data(data, report, parsed)


def _load_diagnostic(exc: YamlLoadError) -> Diagnostic:
    mark = exc.mark
    return Diagnostic(
        loc=exc.loc,
        message=exc.message,
        type=exc.kind,
        line=mark.line if mark else None,
        column=mark.column if mark else None,
    )
