"""The export stage: the `RunConfig` models -> committed artifacts.

Gives the JSON Schemas (draft 7), editor settings, the generated reference, the starter
config of `gkd init` and the drift checks; `python -m gkd_schema.artifacts` rewrites them.
Imports `gkd_schema.models` and `gkd_schema.config` only; never the runner.
"""
