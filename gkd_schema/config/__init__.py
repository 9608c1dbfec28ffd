"""The config stage: YAML text (plus `--set` and `GKD_*` overrides) -> a validated `RunConfig`.

Gives located diagnostics, their text/JSON/GitHub reports and the resolved form.
Imports only `gkd_schema.models` and the light dependencies (pydantic, ruamel.yaml,
rich); never torch, transformers, trl, datasets or accelerate.
"""
