"""A runner stop that lands while a call's process is still starting fails that call.

Without it the process finished starting after the stop, joined the pool and served a
call nobody could cancel any more (the router's stop then waited for the whole call).
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import pytest

from deploy.local import instances
from deploy.local.fncall import InvocationError
from deploy.local.functions import FunctionDef
from tests.support.wait import wait_until


class _SlowStart:
    """Stands in for :class:`instances.Instance`: ``start`` blocks until released."""

    made: ClassVar[list[_SlowStart]] = []

    def __init__(self, fn: FunctionDef, runner: Any) -> None:
        self.started = threading.Event()
        self.go = threading.Event()
        self.reaped = False
        _SlowStart.made.append(self)

    def start(self) -> None:
        self.started.set()
        assert self.go.wait(10)

    def alive(self) -> bool:
        return not self.reaped

    def reap(self, force: bool = False) -> None:
        self.reaped = True


def test_stop_while_a_process_starts_fails_the_call_and_reaps_the_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(instances, "Instance", _SlowStart)
    _SlowStart.made.clear()
    pool = instances.InstancePool(FunctionDef(name="slow"), runner=None)  # type: ignore[arg-type]
    failure: list[BaseException] = []

    def call() -> None:
        try:
            pool.acquire(5)
        except InvocationError as exc:
            failure.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    wait_until(lambda: _SlowStart.made and _SlowStart.made[0].started.is_set(),
               "the call's process to start")
    [inst] = _SlowStart.made
    pool.stop()  # lands while the process is still starting
    inst.go.set()
    caller.join(10)
    assert not caller.is_alive()
    assert len(failure) == 1 and "stopped while it started" in str(failure[0])
    assert inst.reaped and pool.live() == []
    # The pool stays usable: the next call gets a new process.
    nxt = threading.Thread(target=pool.acquire, args=(5,))
    nxt.start()
    wait_until(lambda: len(_SlowStart.made) == 2, "a second process to start")
    _SlowStart.made[1].go.set()
    nxt.join(10)
    assert [id(i) for i in pool.live()] == [id(_SlowStart.made[1])]
