"""How the user runs ``ocift`` here, for messages that tell them what to type next.

In a second terminal the venv is usually not active, so ``ocift`` alone is "command not
found" (issue 27). When this process was started as ``.venv/bin/ocift`` and plain
``ocift`` on ``PATH`` is not the same script, messages say ``.venv/bin/ocift``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def command() -> str:
    """``ocift`` when that is on PATH (or unknown), else the script's path as typed."""
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is None or script.name != "ocift":
        return "ocift"
    found = shutil.which("ocift")
    if found and Path(found).resolve() == script.resolve():
        return "ocift"
    absolute = os.path.abspath(script)  # as typed: a symlinked .venv stays .venv
    relative = os.path.relpath(absolute, Path.cwd())
    return relative if not relative.startswith("..") else absolute
