"""Values that override the file: `--set KEY=VALUE` and `GKD_*` environment variables.

Precedence, highest first: `--set`, environment, file, model defaults. Each
override remembers where it came from so an error it causes can say so instead
of pointing at a line of the file.

An environment variable `GKD_<SECTION>__<KEY>` (case-insensitive, `__` between
nested keys) sets `section.key`: `GKD_TRAINING__LEARNING_RATE=2e-5` sets
`training.learning_rate`. Variables whose first part names no section
(`GKD_HOME`) are ignored; an unknown key inside a section is reported like one
in the file. Values from both sources are read by the same YAML 1.2 loader as
the file, as one scalar or flow value, so `[wandb]` is a list and an empty value
is null. An override of a mapping replaces the whole mapping.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from gkd_schema.config.diagnostics import Loc
from gkd_schema.config.yaml_loader import YamlLoadError, load_yaml
from gkd_schema.models import RunConfig

ENV_PREFIX = "GKD_"
ENV_NESTED_DELIMITER = "__"


class OverrideSyntaxError(ValueError):
    """A `--set` argument that is not `KEY=VALUE`, or an override value that is not YAML (a usage error)."""


class Override(NamedTuple):
    """One overriding value and where it came from."""

    loc: Loc
    value: Any
    origin: str


def _parse_value(raw: str, origin: str) -> Any:
    """An override's value, read like a value in the file.

    Raises:
        OverrideSyntaxError: the value is not YAML gkd reads.
    """
    try:
        value, _ = load_yaml(raw)
    except YamlLoadError as exc:
        raise OverrideSyntaxError(f"{origin}: {exc.message}") from None
    return value


def parse_set_option(text: str) -> Override:
    """Parse one `--set dotted.key=value`; the value is read as YAML.

    Raises:
        OverrideSyntaxError: no `=`, an empty key, or a value that is not YAML.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise OverrideSyntaxError(
            f"--set expects KEY=VALUE with a dotted key, e.g. "
            f"`--set training.learning_rate=2e-5`; got `{text}`"
        )
    origin = f"--set {text}"
    return Override(tuple(key.split(".")), _parse_value(raw, origin), origin)


def _env_loc(name: str) -> Loc | None:
    """The key path a `GKD_*` variable names, or None when it names no section."""
    if not name.upper().startswith(ENV_PREFIX):
        return None
    parts = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split(ENV_NESTED_DELIMITER))
    if not parts or parts[0] not in RunConfig.model_fields or not all(parts):
        return None
    return parts


def env_overrides(environ: Mapping[str, str] | None = None) -> list[Override]:
    """The `GKD_*` variables that name config keys, as overrides; sections before their keys.

    Raises:
        OverrideSyntaxError: a variable's value is not YAML gkd reads.
    """
    environ = os.environ if environ is None else environ
    named = [(loc, name) for name in environ if (loc := _env_loc(name)) is not None]
    named.sort(key=lambda item: (len(item[0]), item[1]))
    overrides = []
    for loc, name in named:
        origin = f"environment variable {name}"
        overrides.append(Override(loc, _parse_value(environ[name], origin), origin))
    return overrides


def apply_overrides(data: dict[str, Any], overrides: Sequence[Override]) -> dict[Loc, str]:
    """Write overrides into `data` in order (later wins); return loc -> origin.

    Intermediate keys that are missing or not mappings become mappings, so an
    override can add a whole section.
    """
    origins: dict[Loc, str] = {}
    for override in overrides:
        target = data
        for part in override.loc[:-1]:
            nxt = target.get(str(part))
            if not isinstance(nxt, dict):
                nxt = target[str(part)] = {}
            target = nxt
        target[str(override.loc[-1])] = override.value
        origins = {
            loc: origin
            for loc, origin in origins.items()
            if loc[: len(override.loc)] != override.loc
        }
        origins[override.loc] = override.origin
    return origins


def origin_of(loc: Loc, origins: Mapping[Loc, str]) -> str | None:
    """The override that set `loc` or a key above it, if any."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in origins:
            return origins[loc[:end]]
    return None
