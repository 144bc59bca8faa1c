"""The router delivers matching events at least once, through the real runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deploy.local.router import Router, runner_deliver
from deploy.local.rules import parse_rule
from deploy.local.runner import FunctionRunner
from shared.cli.main import main
from tests.support.events import object_event
from tests.support.local import FnDefFactory, RunnerFactory, calls
from tests.support.wait import wait_until


def _rule(function: str, pattern: str = "raw/*") -> Any:
    return parse_rule(json.dumps({
        "displayName": f"to-{function}",
        "condition": {"eventType": "com.oraclecloud.objectstorage.createobject",
                      "data": {"resourceName": pattern}},
        "action": {"function": function}}), "ocift-datasets")


def _event(name: str = "raw/a.json") -> dict[str, Any]:
    return object_event(name)


def _router(state: Path, runner: FunctionRunner, function: str, **kw: Any) -> Router:
    kw.setdefault("backoff_base", 0.01)
    return Router(state, [_rule(function)], runner_deliver(runner.invoke), **kw)


def test_matching_event_is_delivered_once_and_others_ignored(
        tmp_path: Path, runner_factory: RunnerFactory, fn_def: FnDefFactory,
        fn_dir: Path) -> None:
    runner = runner_factory(fn_def("echo"))
    with _router(tmp_path, runner, "echo") as router:
        assert router.submit(_event("reports/x.json")) == []
        ids = router.submit(_event())
        assert len(ids) == 1
        assert router.wait_idle(60)
        status = router.status()
    assert calls(fn_dir, "echo") == 1
    delivered = json.loads((fn_dir / "echo.calls").read_text())
    assert delivered["data"]["resourceName"] == "raw/a.json"
    assert status.delivered_count == 1 and status.pending_count == 0
    assert status.delivered[0].attempts == 1 and status.retried_count == 0


def test_duplicate_deliveries_knob_delivers_twice(
        tmp_path: Path, runner_factory: RunnerFactory, fn_def: FnDefFactory,
        fn_dir: Path) -> None:
    runner = runner_factory(fn_def("echo"))
    with _router(tmp_path, runner, "echo", duplicate_deliveries=True) as router:
        assert len(router.submit(_event())) == 2
        assert router.wait_idle(60)
        assert router.status().delivered_count == 2
    lines = (fn_dir / "echo.calls").read_text().splitlines()
    assert len(lines) == 2
    assert {json.loads(x)["eventID"] for x in lines} == {_event()["eventID"]}


def test_fails_twice_then_succeeds_after_three_attempts(
        tmp_path: Path, runner_factory: RunnerFactory, fn_def: FnDefFactory,
        fn_dir: Path) -> None:
    runner = runner_factory(fn_def("flaky", TESTFN_FAILURES="2"))
    with _router(tmp_path, runner, "flaky") as router:
        router.submit(_event())
        assert router.wait_idle(60)
        status = router.status()
    assert calls(fn_dir, "flaky") == 3
    assert status.delivered_count == 1 and status.dead_lettered_count == 0
    assert status.delivered[0].attempts == 3
    assert status.retried_count == 2
    assert "planned failure 2" in (status.delivered[0].last_error or "")


def test_always_failing_function_ends_in_dead_letter(
        tmp_path: Path, runner_factory: RunnerFactory, fn_def: FnDefFactory,
        fn_dir: Path) -> None:
    runner = runner_factory(fn_def("always_fail"))
    with _router(tmp_path, runner, "always_fail", max_attempts=3) as router:
        router.submit(_event())
        assert router.wait_idle(60)
        status = router.status()
    assert calls(fn_dir, "always_fail") == 3
    assert status.delivered_count == 0 and status.pending_count == 0
    [dead] = status.dead_lettered
    assert dead.attempts == 3 and dead.function == "always_fail"
    assert dead.rule == "to-always_fail" and dead.event_id == _event()["eventID"]
    assert "502" in (dead.last_error or "")
    journal = (tmp_path / "router" / "deadletter.jsonl").read_text().splitlines()
    assert json.loads(journal[0])["attempts"] == 3


def test_process_death_counts_as_failed_attempt(
        tmp_path: Path, runner_factory: RunnerFactory, fn_def: FnDefFactory,
        fn_dir: Path) -> None:
    runner = runner_factory(fn_def("crash"))
    with _router(tmp_path, runner, "crash") as router:
        router.submit(_event())
        assert router.wait_idle(60)
        status = router.status()
    assert status.delivered_count == 1 and status.delivered[0].attempts == 2
    assert calls(fn_dir, "crash") == 2


def test_accepted_events_survive_a_router_restart(
        tmp_path: Path, runner_factory: RunnerFactory, fn_def: FnDefFactory,
        fn_dir: Path) -> None:
    runner = runner_factory(fn_def("echo"))
    first = _router(tmp_path, runner, "echo")  # never started: simulates a crash after accept
    ids = first.submit(_event("raw/one.json")) + first.submit(_event("raw/two.json"))
    assert first.status().pending_count == 2
    assert calls(fn_dir, "echo") == 0

    with _router(tmp_path, runner, "echo") as second:
        assert second.wait_idle(60)
        status = second.status()
    assert status.pending_count == 0 and status.delivered_count == 2
    assert {r.delivery_id for r in status.delivered} == set(ids)
    names = {json.loads(x)["data"]["resourceName"]
             for x in (fn_dir / "echo.calls").read_text().splitlines()}
    assert names == {"raw/one.json", "raw/two.json"}


def test_event_submitted_before_start_is_delivered_once(
        tmp_path: Path, runner_factory: RunnerFactory, fn_def: FnDefFactory,
        fn_dir: Path) -> None:
    runner = runner_factory(fn_def("echo"))
    router = _router(tmp_path, runner, "echo", workers=4)
    router.submit(_event())
    with router:
        assert router.wait_idle(60)
        assert router.status().delivered_count == 1
    assert calls(fn_dir, "echo") == 1


def test_submit_does_not_wait_and_killing_the_function_unblocks_the_call(
        tmp_path: Path, runner_factory: RunnerFactory, fn_def: FnDefFactory) -> None:
    runner = runner_factory(fn_def("slow", timeout=60, TESTFN_SLEEP="60"))
    router = _router(tmp_path, runner, "slow", workers=1)
    router.start()
    workers = list(router._threads)
    router.submit(_event())
    # Returns while the function sleeps: the delivery is still pending, not done.
    assert router.status().delivered_count == 0
    assert router.submit(_event("raw/b.json"))
    # The process serves the call. (A stop while it still starts fails the call too:
    # tests/unit/test_instance_pool_stop.py.)
    wait_until(lambda: runner.pids("slow"), "the slow function's process")
    router.signal_stop()  # no new attempt starts...
    runner.stop()  # ...and killing the function fails the in-flight call:
    router.stop(timeout=50)  # the worker ends long before the function's 60 s sleep would
    assert not any(t.is_alive() for t in workers)
    assert router.status().delivered_count == 0 and router.status().pending_count == 2
    assert runner.pids("slow") == []


def test_backoff_grows_and_is_capped(tmp_path: Path) -> None:
    router = Router(tmp_path, [], lambda f, b: None, backoff_base=1.0, backoff_max=5.0)
    for attempts, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (10, 5.0)]:
        for _ in range(20):
            delay = router.backoff(attempts)
            assert ceiling / 2 <= delay <= ceiling


def test_max_attempts_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Router(tmp_path, [], lambda f, b: None, max_attempts=0)


def test_redrive_on_a_running_router_delivers_dead_letters(
        tmp_path: Path, runner_factory: RunnerFactory, fn_def: FnDefFactory,
        fn_dir: Path) -> None:
    runner = runner_factory(fn_def("flaky", TESTFN_FAILURES="2"))
    with _router(tmp_path, runner, "flaky", max_attempts=2, rescan_interval=0.05) as router:
        [delivery_id] = router.submit(_event())
        assert router.wait_idle(60)
        [dead] = router.status().dead_lettered
        assert dead.delivery_id == delivery_id and dead.event is not None
        assert router.redrive() == [delivery_id]
        assert router.status().dead_lettered_count == 0
        # The running router finds the requeued record on its own.
        wait_until(lambda: router.status().delivered_count, "the requeued delivery",
                   interval=0.02)
        status = router.status()
    assert status.delivered_count == 1 and status.delivered[0].attempts == 1
    assert status.dead_lettered_count == 0 and calls(fn_dir, "flaky") == 3


def test_redrive_command_offline_then_restart(
        tmp_path: Path, runner_factory: RunnerFactory, fn_def: FnDefFactory,
        fn_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runner = runner_factory(fn_def("flaky", TESTFN_FAILURES="1"))
    with _router(tmp_path, runner, "flaky", max_attempts=1) as router:
        ids = router.submit(_event("raw/a.json")) + router.submit(_event("raw/b.json"))
        assert router.wait_idle(60)
    assert router.status().dead_lettered_count == 1  # only the first call failed
    [dead] = router.status().dead_lettered
    assert main(["redrive", "--state-dir", str(tmp_path), "nope"]) == 1
    out = capsys.readouterr()
    assert "no dead letter with id 'nope'" in out.err and out.out == ""
    assert main(["redrive", "--state-dir", str(tmp_path), dead.delivery_id]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"requeued 1 delivery: {dead.delivery_id};")
    assert "delivered when `ocift up` starts" in said  # no target runs on this state
    with _router(tmp_path, runner, "flaky") as again:
        assert again.wait_idle(60)
        status = again.status()
    assert status.dead_lettered_count == 0
    assert {r.delivery_id for r in status.delivered} == set(ids)
