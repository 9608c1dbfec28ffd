"""The runner: a validated `RunConfig` -> a trained, saved student.

Stages, lowest first: `preflight` | `loss` | `generation` | `teacher` < `train` < `eval`
< `launch` (see docs/architecture.md). The only package that imports torch,
transformers, TRL, datasets or accelerate, and only inside its modules, lazily where
`gkd validate --deep` reaches them.
"""
