"""The launch stage: one `gkd run` -> several processes (`accelerate launch`, DeepSpeed, FSDP).

Gives the relaunch of the CLI under accelerate with Ctrl-C relayed to every rank, and
the check of an accelerate config against this machine. May import every runner stage
below it; never `gkd_schema.cli` (except `__main__` entry points).
"""
