"""Calls to a warm function process reuse its connection while it is hot, and never run twice.

fdk-python keeps a connection open after answering (``Connection: keep-alive``); the
runner sends the next call on it instead of connecting again, closes it once idle past
``keep_idle`` (fdk 0.1.128 spins a CPU on a connection idle past its 75 s keep-alive
timeout), and replaces a kept connection fdk closed before reading the call.
"""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path

import pytest

from deploy.local.fncall import Unanswered, encode_call, exchange
from deploy.local.instances import Instance
from deploy.local.runner import FunctionRunner, InvocationError
from tests.support.local import FnDefFactory, RunnerFactory, calls, make_fn
from tests.support.wait import wait_until


def _instance(runner: FunctionRunner, name: str) -> Instance:
    (inst,) = runner.instances(name)
    return inst


def test_consecutive_calls_share_one_connection(
        runner_factory: RunnerFactory, fn_def: FnDefFactory,
        fn_dir: Path) -> None:
    runner = runner_factory(fn_def("echo"))
    first = json.loads(runner.invoke("echo", b"{}").body)
    inst = _instance(runner, "echo")
    kept = inst.kept
    assert kept is not None and kept.fileno() >= 0
    for _ in range(3):
        seen = json.loads(runner.invoke("echo", b"{}").body)
        assert seen["pid"] == first["pid"]
        assert inst.kept is kept  # the same connection carried the call
    assert calls(fn_dir, "echo") == 4


def test_an_idle_connection_is_closed(tmp_path: Path, fn_dir: Path) -> None:
    runner = FunctionRunner(tmp_path / "state", {"echo": make_fn("echo")},
                            extra_env={"TESTFN_DIR": str(fn_dir)}, keep_idle=0.2)
    try:
        assert runner.invoke("echo", b"{}").ok
        inst = _instance(runner, "echo")
        kept = inst.kept
        assert kept is not None
        wait_until(lambda: inst.kept is None, "the idle connection to be closed", timeout=10,
                   interval=0.02)
        assert kept.fileno() == -1
        assert runner.invoke("echo", b"{}").ok  # a new connection serves the next call
        assert calls(fn_dir, "echo") == 2
    finally:
        runner.stop()
    assert inst.kept is None


@pytest.mark.parametrize("how", ["closed", "shut_without_reading"])
def test_a_connection_fdk_closed_is_replaced_and_the_call_runs_once(
        runner_factory: RunnerFactory, fn_def: FnDefFactory, fn_dir: Path,
        how: str) -> None:
    runner = runner_factory(fn_def("echo"))
    assert runner.invoke("echo", b"{}").ok
    inst = _instance(runner, "echo")
    assert inst.kept is not None
    inst.kept.close()
    # What fdk leaves when it closes a connection that idled past its keep-alive timeout:
    # the peer is gone before the call is sent, or goes away without reading it.
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    if how == "closed":
        theirs.close()
    else:
        theirs.shutdown(socket.SHUT_WR)
    inst._kept = ours  # fault injection: the connection the next call is sent on
    seen = json.loads(runner.invoke("echo", b'{"n": 2}').body)
    assert seen["body"] == '{"n": 2}'
    assert calls(fn_dir, "echo") == 2  # sent again on a new connection, and run once
    assert ours.fileno() == -1 and inst.kept is not None and inst.kept is not ours
    theirs.close()


def test_a_process_dying_mid_call_on_a_kept_connection_is_not_called_again(
        runner_factory: RunnerFactory, fn_def: FnDefFactory,
        fn_dir: Path) -> None:
    runner = runner_factory(fn_def("crash_second"))
    first = json.loads(runner.invoke("crash_second", b"{}").body)
    assert _instance(runner, "crash_second").kept is not None
    with pytest.raises(InvocationError):
        runner.invoke("crash_second", b"{}")  # on the kept connection; the process dies
    assert calls(fn_dir, "crash_second") == 2  # the dying call was not sent again
    again = json.loads(runner.invoke("crash_second", b"{}").body)
    assert again["pid"] != first["pid"]
    assert calls(fn_dir, "crash_second") == 3


def test_an_old_connection_is_not_reused(
        runner_factory: RunnerFactory, fn_def: FnDefFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    runner = runner_factory(fn_def("echo"))
    assert runner.invoke("echo", b"{}").ok
    inst = _instance(runner, "echo")
    kept = inst.kept
    assert kept is not None
    monkeypatch.setattr("deploy.local.instances.KEEP_MAX_AGE_SECONDS", 0.0)
    assert runner.invoke("echo", b"{}").ok
    assert kept.fileno() == -1 and inst.kept is not None and inst.kept is not kept


@pytest.mark.parametrize(("head", "keep"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", True),
    (b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: 75\r\nContent-Length: 2\r\n",
     True),
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n", False),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n", False),
])
def test_an_answer_says_whether_its_connection_carries_the_next_call(
        head: bytes, keep: bool) -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours, theirs:
        theirs.sendall(head + b"\r\nok")
        answer = exchange(ours, encode_call(b"{}", "application/json", None, 5), 5,
                          reused=False)
        assert (answer.status, answer.body, answer.keep_alive) == (200, b"ok", keep)
        assert theirs.recv(65536).startswith(b"POST /call HTTP/1.1\r\n")


def test_a_new_connection_closed_before_the_answer_is_a_failed_call() -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours:
        theirs.shutdown(socket.SHUT_WR)
        with pytest.raises(http.client.RemoteDisconnected):
            exchange(ours, encode_call(b"{}", "application/json", None, 5), 5, reused=False)
        with pytest.raises(Unanswered):  # the same on a reused connection: send it again
            exchange(ours, encode_call(b"{}", "application/json", None, 5), 5, reused=True)
        theirs.close()
