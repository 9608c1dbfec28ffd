"""The train stage: a validated `RunConfig` -> a planned, trained and saved run.

Gives the run plan and TRL arguments, the trainer subclass, data loading, callbacks,
the interrupt handling, the banner and the run-hook points. May import the config
stage and the runner stages below it (preflight, loss, generation, teacher); never
`eval`, `launch` or `cli`.
"""
