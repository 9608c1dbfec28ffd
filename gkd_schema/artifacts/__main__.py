"""`python -m gkd_schema.artifacts [REPO_ROOT]`: regenerate every committed artifact."""

import sys

from gkd_schema.artifacts.generated import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
