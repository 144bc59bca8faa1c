"""One way to wait in a test: poll a condition until it holds, or fail saying what was awaited.

Prefer a real signal where the code under test offers one (``Router.wait_idle``,
``LocalTarget.wait_idle``, a ``threading.Event``); use :func:`wait_until` for state
that is only observable by looking (an object in a bucket, a process gone).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

Description = str | Callable[[], str]


class WaitTimeout(AssertionError):
    """The awaited condition never held (an assertion failure of the test)."""


def wait_until(check: Callable[[], T | None], what: Description, timeout: float = 60.0,
               interval: float = 0.05) -> T:
    """Call ``check`` until it returns something truthy and return that.

    ``what`` names what is awaited; a callable is asked only on timeout, so it can
    describe the last state seen. Raises :class:`WaitTimeout` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            raise WaitTimeout(f"timed out after {timeout:g} s waiting for {described}")
        time.sleep(interval)
