"""Process-wide caches of a warm function, registered in one place so they reset one way.

A warm OCI function keeps its clients, settings, resolved endpoints and the
watcher's memory between calls. Each module that keeps such state registers
how to forget it; :func:`reset_all` forgets everything (tests, or after the
configuration changed).
"""

from __future__ import annotations

from collections.abc import Callable

_resets: dict[str, Callable[[], None]] = {}


def register(name: str, reset: Callable[[], None]) -> None:
    """Remember how to forget the cache called ``name`` (re-registering replaces it)."""
    _resets[name] = reset


def reset_all() -> None:
    """Forget every registered cache."""
    for reset in list(_resets.values()):
        reset()
