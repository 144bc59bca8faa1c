"""The one fdk entry point of the image: ``fdk functions/handler.py handler``.

Each deployed function runs this same image and is told its stage by the
``OCIFT_STAGE`` configuration key; :mod:`shared.dispatch` holds the one table of
what each stage runs. A function never runs another stage's code, whatever it is
sent.
"""

from __future__ import annotations

import os
import sys
from typing import Any

# fdk loads this file by path; make the repository root (``/function`` in the
# image) importable so ``shared`` and ``functions`` resolve the same way everywhere.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from shared.fdk_speedups import memoize_tracing_tuple  # noqa: E402
from shared.runtime import run  # noqa: E402

memoize_tracing_tuple()


def handler(ctx: Any, data: Any = None) -> Any:
    """Run the stage ``OCIFT_STAGE`` names (the table is :data:`shared.dispatch.STAGES`)."""
    return run(ctx, data)
