"""The eval stage: a student and teacher (or a finished run) -> scores, reports and plots.

Gives `gkd eval`'s metrics, targets and tables, the loss plot, and the run hooks that
`gkd run` is handed (`RUN_HOOKS`). May import `train` and the stages below it; never
`launch` or `cli`.
"""
