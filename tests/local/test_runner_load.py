"""The runner under concurrent calls: scale out, queue, push back, never kill a healthy process.

fdk listens with a backlog of 100 and answers one call at a time; before issue 12 a
burst above the backlog made connects fail with EAGAIN and the runner SIGKILLed the
healthy process with every call in flight.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from deploy.local.functions import FunctionDef
from deploy.local.runner import FunctionBusy, FunctionRunner, InvocationError
from tests.support.local import FnDefFactory, RunnerFactory


def _burst(runner: FunctionRunner, name: str, n: int) -> list[Any]:
    """``n`` calls released at once; each outcome is a pid (int) or the exception raised."""
    gate = threading.Barrier(n)

    def one(_: int) -> Any:
        gate.wait()
        try:
            return json.loads(runner.invoke(name, b"{}").body)["pid"]
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def _nap(fn_def: FnDefFactory, sleep: str = "0.02", **limits: Any) -> FunctionDef:
    base = fn_def("nap", TESTFN_SLEEP=sleep)
    limited: FunctionDef = base.model_copy(update=limits)
    return limited


def test_burst_larger_than_the_socket_backlog_keeps_the_healthy_process(
        runner_factory: RunnerFactory, fn_def: FnDefFactory) -> None:
    runner = runner_factory(_nap(fn_def, max_instances=1))
    runner.start()
    pid = runner.pid("nap")
    outcomes = _burst(runner, "nap", 150)  # fdk's backlog is 100
    assert outcomes == [pid] * 150, Counter(map(repr, outcomes)).most_common(3)
    [state] = runner.status()
    assert state.starts == 1 and state.pids == [pid] and state.failures == 0


def test_concurrent_calls_scale_out_up_to_max_instances(
        runner_factory: RunnerFactory, fn_def: FnDefFactory) -> None:
    runner = runner_factory(_nap(fn_def, "0.2", max_instances=3))
    outcomes = _burst(runner, "nap", 24)
    assert all(isinstance(o, int) for o in outcomes), outcomes
    assert 2 <= len(set(outcomes)) <= 3  # more than one process, never more than the limit
    [state] = runner.status()
    assert state.starts == len(set(outcomes)) and len(state.pids) == state.starts


def test_full_queue_is_refused_with_busy_and_nothing_is_killed(
        runner_factory: RunnerFactory, fn_def: FnDefFactory) -> None:
    runner = runner_factory(_nap(fn_def, "0.5", max_instances=1, max_queued=2))
    runner.start()
    pid = runner.pid("nap")
    outcomes = _burst(runner, "nap", 12)
    busy = [o for o in outcomes if isinstance(o, FunctionBusy)]
    answered = [o for o in outcomes if isinstance(o, int)]
    assert len(busy) + len(answered) == 12, outcomes  # nothing else went wrong
    assert busy and answered and set(answered) == {pid}
    assert all(b.retry_after >= 1 for b in busy)
    [state] = runner.status()
    assert state.rejected == len(busy) and state.starts == 1 and runner.pid("nap") == pid


def test_queue_deadline_refuses_with_busy(runner_factory: RunnerFactory,
                                          fn_def: FnDefFactory) -> None:
    runner = runner_factory(_nap(fn_def, "1.5", max_instances=1, queue_timeout_seconds=0.2))
    runner.start()
    outcomes = _burst(runner, "nap", 3)
    assert sum(isinstance(o, FunctionBusy) for o in outcomes) == 2
    assert sum(isinstance(o, int) for o in outcomes) == 1


def test_refused_connect_to_a_live_process_does_not_kill_it(
        runner_factory: RunnerFactory, fn_def: FnDefFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    runner = runner_factory(_nap(fn_def))
    runner.start()
    pid = runner.pid("nap")
    [inst] = runner._get("nap").live()
    listener = inst.listener
    hidden = listener.with_name("hidden.sock")
    target = listener.readlink()
    listener.unlink()  # connects now fail with ENOENT, as with EAGAIN: nothing is sent
    listener.symlink_to(hidden)
    with pytest.raises(InvocationError):
        runner.invoke("nap", b"{}")
    assert runner.pid("nap") == pid  # declared dead only when it is
    listener.unlink()
    listener.symlink_to(target)
    assert json.loads(runner.invoke("nap", b"{}").body)["pid"] == pid


def test_a_process_that_really_died_is_replaced(runner_factory: RunnerFactory,
                                                fn_def: FnDefFactory) -> None:
    runner = runner_factory(fn_def("crash"))
    with pytest.raises(InvocationError):
        runner.invoke("crash", b"{}")  # exits mid-call
    assert runner.pid("crash") is None
    assert runner.invoke("crash", b"{}").ok
    assert runner.status()[0].starts == 2


