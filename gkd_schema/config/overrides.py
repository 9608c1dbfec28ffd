"""Values that override the file: `--set KEY=VALUE` and `GKD_*` environment variables.

Precedence, highest first: `--set`, environment, file, model defaults. Each
override remembers where it came from so an error it causes can say so instead
of pointing at a line of the file.

Environment variables are read through pydantic-settings with the prefix `GKD_`
and `__` between nested keys: `GKD_TRAINING__LEARNING_RATE=2e-5` sets
`training.learning_rate`. Like `--set` values, they are parsed as YAML scalars.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic_settings import EnvSettingsSource

from gkd_schema.config.diagnostics import Loc
from gkd_schema.config.yaml_loader import YamlLoadError, load_yaml
from gkd_schema.models import RunConfig

ENV_PREFIX = "GKD_"
ENV_NESTED_DELIMITER = "__"


class OverrideSyntaxError(ValueError):
    """A `--set` argument that is not `KEY=VALUE` (a usage error)."""


@dataclass(frozen=True)
class Override:
    """One overriding value and where it came from."""

    loc: Loc
    value: Any
    origin: str


def parse_set_option(text: str) -> Override:
    """Parse one `--set dotted.key=value`; the value is read as a YAML scalar.

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
    try:
        value, _ = load_yaml(raw)
    except YamlLoadError as exc:
        raise OverrideSyntaxError(f"--set {text}: {exc.message}") from None
    return Override(tuple(key.split(".")), value, f"--set {text}")


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading a given mapping."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(
            RunConfig,  # type: ignore[arg-type]  # reads field names only
            env_prefix=ENV_PREFIX,
            env_nested_delimiter=ENV_NESTED_DELIMITER,
            case_sensitive=False,
        )

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {key.lower(): value for key, value in self._environ.items()}


def _leaves(value: Any, loc: Loc) -> Iterator[tuple[Loc, Any]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, (*loc, key))
    else:
        yield loc, value


def env_overrides(environ: Mapping[str, str] | None = None) -> list[Override]:
    """The `GKD_*` variables that name config keys, as overrides."""
    environ = os.environ if environ is None else environ
    if not any(key.upper().startswith(ENV_PREFIX) for key in environ):
        return []
    found = _MappingEnvSource(environ)()
    overrides = []
    for loc, value in (item for key in found for item in _leaves(found[key], (key,))):
        if isinstance(value, str):
            with contextlib.suppress(YamlLoadError):  # not YAML: keep the text as written
                value, _ = load_yaml(value)
        name = ENV_PREFIX + ENV_NESTED_DELIMITER.join(str(p) for p in loc).upper()
        overrides.append(Override(loc, value, f"environment variable {name}"))
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
