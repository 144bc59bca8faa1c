"""Import msgspec without typing_extensions, for the converter's command line.

msgspec (0.23) imports ``typing_extensions`` only for ``get_type_hints``, ``Required``
and ``NotRequired``, and falls back to :mod:`typing` when it cannot; on Python 3.11+
``typing`` has all three, and the converter's Structs use only plain ``typing``
annotations. ``typing_extensions`` (with the ``inspect`` it imports) is a fifth of
``ocift convert``'s start-up: 36.1 -> 28.8 ms for ``import msgspec`` here, median of 15
fresh processes, against 18.1 ms for a bare interpreter. This is for a process's
single-threaded start only (the console script, ``python -m shared.convert``): while
msgspec imports, ``typing_extensions`` cannot be imported; afterwards it imports as usual.
"""

from __future__ import annotations

import sys


def import_msgspec() -> bool:
    """Import msgspec now, without typing_extensions when neither is loaded yet; True
    when it was imported so."""
    if sys.version_info < (3, 11) or "msgspec" in sys.modules or "typing_extensions" in sys.modules:
        return False
    sys.modules["typing_extensions"] = None  # type: ignore[assignment]  # import fails
    try:
        import msgspec  # noqa: F401
    finally:
        if "typing_extensions" in sys.modules and sys.modules["typing_extensions"] is None:
            del sys.modules["typing_extensions"]
    return True
