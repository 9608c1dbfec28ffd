"""The `gkd` command line (Typer). Commands are thin: parse, call the library, exit."""
