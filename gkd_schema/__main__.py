"""`python -m gkd_schema`: the same as the `gkd` command."""

from gkd_schema.cli.entry import main

main()
