"""The function runner serves real fdk processes on unix sockets, as Fn does."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from deploy.local.functions import pipeline_functions
from deploy.local.runner import FunctionTimeout, HttpRequest, InvocationError, UnknownFunction
from shared.settings import Settings, Stage
from tests.support.local import FnDefFactory, RunnerFactory, calls
from tests.support.wait import wait_until


def test_event_call_reaches_fdk_with_fn_headers_and_config(
        runner_factory: RunnerFactory, fn_def: FnDefFactory, fn_dir: Path) -> None:
    runner = runner_factory(fn_def("echo", OCIFT_BUCKET="b1"),
                            fn_def("echo2", "echo", OCIFT_BUCKET="b2"))
    result = runner.invoke("echo", b'{"hello": 1}')
    assert result.ok and result.fdk_status == 200 and result.status == 200
    seen = json.loads(result.body)
    assert seen["body"] == '{"hello": 1}'
    assert seen["call_id"] == result.call_id
    assert seen["fn_name"] == "echo" and seen["app_name"] == "ocift"
    assert seen["headers"]["fn-deadline"].endswith("Z")
    assert seen["headers"]["content-type"] == "application/json"
    assert "fn-intent" not in seen["headers"]
    # Each function sees only its own configuration.
    assert seen["env"]["OCIFT_BUCKET"] == "b1"
    other = json.loads(runner.invoke("echo2", b"{}").body)
    assert other["env"]["OCIFT_BUCKET"] == "b2"
    assert other["pid"] != seen["pid"]
    # Warm: the same process answers the next call.
    assert json.loads(runner.invoke("echo", b"{}").body)["pid"] == seen["pid"]
    assert calls(fn_dir, "echo") == 2
    log_file = Path(runner.status()[0].log_file)
    assert log_file.name == "echo.log" and log_file.exists()


def test_parent_ocift_environment_does_not_leak(
        runner_factory: RunnerFactory, fn_def: FnDefFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCIFT_NAMESPACE", "leaked")
    runner = runner_factory(fn_def("echo"))
    seen = json.loads(runner.invoke("echo", b"{}").body)
    assert "OCIFT_NAMESPACE" not in seen["env"]


def test_killed_process_is_restarted(runner_factory: RunnerFactory,
                                     fn_def: FnDefFactory) -> None:
    runner = runner_factory(fn_def("echo"))
    runner.start()
    first = runner.pid("echo")
    assert first is not None
    os.killpg(first, signal.SIGKILL)
    # The death is observable before the next call (not a wait for speed).
    wait_until(lambda: runner.pid("echo") is None, "the killed process to be seen dead",
               timeout=10, interval=0.01)
    seen = json.loads(runner.invoke("echo", b"{}").body)
    assert seen["pid"] != first
    states = {s.name: s for s in runner.status()}
    assert states["echo"].starts == 2 and states["echo"].running


def test_process_dying_mid_call_is_a_failed_call_then_restarts(
        runner_factory: RunnerFactory, fn_def: FnDefFactory) -> None:
    runner = runner_factory(fn_def("crash"))
    with pytest.raises(InvocationError):
        runner.invoke("crash", b"{}")
    assert runner.invoke("crash", b"{}").ok


def test_exception_in_function_is_fdk_502(runner_factory: RunnerFactory,
                                          fn_def: FnDefFactory) -> None:
    runner = runner_factory(fn_def("always_fail"))
    result = runner.invoke("always_fail", b"{}")
    assert result.fdk_status == 502 and not result.ok
    assert b"always fails" in result.body


def test_timeout_kills_the_call_and_counts_as_failure(
        runner_factory: RunnerFactory, fn_def: FnDefFactory) -> None:
    runner = runner_factory(fn_def("slow", timeout=0.5))
    runner.start()
    pid = runner.pid("slow")
    with pytest.raises(FunctionTimeout):
        runner.invoke("slow", b"{}")
    assert runner.pid("slow") is None  # discarded, as Fn discards the container
    assert {s.name: s for s in runner.status()}["slow"].failures == 1
    runner.start("slow")
    assert runner.pid("slow") not in (None, pid)


def test_http_intent_maps_status_and_headers(runner_factory: RunnerFactory,
                                             fn_def: FnDefFactory) -> None:
    runner = runner_factory(fn_def("http_status"), fn_def("echo"))
    request = HttpRequest("POST", "http://127.0.0.1/infer",
                          [("X-Caller", "me"), ("Content-Type", "application/json")])
    result = runner.invoke("http_status", json.dumps({"status": 404, "header": "v"}).encode(),
                           http=request)
    assert result.fdk_status == 200  # fdk itself always says 200 for a handled call
    assert result.status == 404
    assert result.headers["x-test"] == "v"
    assert result.headers["content-type"] == "application/json"
    assert json.loads(result.body) == {"echo": {"status": 404, "header": "v"}}

    seen = json.loads(runner.invoke("echo", b"hi", http=request).body)
    assert seen["headers"]["fn-intent"] == "httprequest"
    assert seen["http_headers"]["x-caller"] == "me"
    assert seen["method"] == "POST" and seen["url"] == "http://127.0.0.1/infer"


def test_unknown_function(runner_factory: RunnerFactory) -> None:
    with pytest.raises(UnknownFunction):
        runner_factory().invoke("nope", b"")


def test_pipeline_function_definitions_do_not_share_stage() -> None:
    settings = Settings(bucket="bkt", namespace="ns", stage=Stage.TRAIN)
    fns = pipeline_functions(settings, overrides={"OCIFT_LOG_LEVEL": "DEBUG"})
    assert set(fns) == {s.value for s in Stage}
    for name, fn in fns.items():
        env = fn.environment()
        assert env["OCIFT_STAGE"] == name
        assert env["OCIFT_BUCKET"] == "bkt" and env["OCIFT_LOG_LEVEL"] == "DEBUG"
        Settings.from_env(env)  # every function's configuration is valid
