"""``python -m deploy.local ...``: an alias of ``ocift ...`` (one command line, one set of options).

    python -m deploy.local up [--state-dir .ocift] ...   ==  ocift up ...
    python -m deploy.local status --deliveries           ==  ocift status --deliveries
"""

from __future__ import annotations

import sys

from shared.cli.main import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
