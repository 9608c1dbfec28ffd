"""`python -m gkd_schema.runner.launch ARGS`: accelerate's launcher with Ctrl-C relayed to every rank."""

import sys

from gkd_schema.runner.launch.relaunch import launcher_main

if __name__ == "__main__":
    sys.exit(launcher_main())
