"""`python -m gkd_schema`: the same as the `gkd` command."""

from gkd_schema.cli.app import main

main()
