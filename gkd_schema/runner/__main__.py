"""`python -m gkd_schema.runner ...` runs the `gkd` CLI (for `accelerate launch -m`)."""

from gkd_schema.cli.entry import main

if __name__ == "__main__":
    main()
