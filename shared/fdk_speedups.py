"""One per-call cost of fdk-python removed, without changing what it does.

fdk-python (0.1.128, the version pinned in ``requirements.txt``) builds its tracing
context for every call, and that builds a ``collections.namedtuple`` class each time
(``fdk.context.TracingContext.__create_zipkin_attrs``): about 35 us, a sixth of fdk's own
work per call (py-spy of a warm function, ``bench/local_delivery_bench.py``). The class
is the same every time (same name, same fields), so the factory fdk's module calls is
memoized: one class, built once, and every call's attributes as before. An fdk that no
longer looks ``namedtuple`` up in ``fdk.context`` is left as it is.
"""

from __future__ import annotations

import functools
from typing import Any


def memoize_tracing_tuple() -> bool:
    """Make ``fdk.context`` reuse its ZipkinAttrs class; True when it is now memoized."""
    try:
        from fdk import context
    except ImportError:  # not in a function image
        return False
    factory: Any = getattr(context, "namedtuple", None)
    if factory is None:
        return False
    if not hasattr(factory, "cache_info"):
        context.namedtuple = functools.lru_cache(maxsize=4)(factory)
    return True
