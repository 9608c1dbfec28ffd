"""The `gkd` command line (Typer): the top stage, thin by design.

Each command parses its arguments, calls a stage below, and maps the outcome to an exit
code. Runner stages are imported inside the commands, so `gkd --help`, `gkd validate`
and `gkd schema` never load torch, transformers, TRL, datasets or accelerate.
"""
