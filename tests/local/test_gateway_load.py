"""The gateway under pressure: 429 with Retry-After at the limit, stalled clients dropped."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from pathlib import Path

from deploy.local.frontdoor import Limits
from deploy.local.gateway import Gateway, GatewayRoute
from tests.support.local import FnDefFactory, RunnerFactory, calls
from tests.support.wait import wait_until


def _post(gw: Gateway, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    try:
        conn.request("POST", path, body=b"{}")
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_function_at_its_limit_answers_429_with_retry_after(
        runner_factory: RunnerFactory, fn_def: FnDefFactory, fn_dir: Path) -> None:
    slow = fn_def("slow", TESTFN_SLEEP="1.5").model_copy(
        update={"max_instances": 1, "max_queued": 0})
    runner = runner_factory(slow)
    runner.start()
    with Gateway(runner.invoke, [GatewayRoute(path="/slow", function="slow")]) as gw:
        first: list[int] = []
        worker = threading.Thread(target=lambda: first.append(_post(gw, "/slow")[0]))
        worker.start()
        # The only instance is busy.
        wait_until(lambda: calls(fn_dir, "slow") == 1, "the slow call to start", timeout=30,
                   interval=0.02)
        status, headers, body = _post(gw, "/slow")
        worker.join(30)
    assert status == 429 and int(headers["retry-after"]) >= 1
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "throttled"
    assert first == [200]  # the call in flight was not disturbed
    assert calls(fn_dir, "slow") == 1


def test_stalled_clients_hold_no_thread_and_past_the_cap_get_a_fast_503(
        runner_factory: RunnerFactory, fn_def: FnDefFactory) -> None:
    runner = runner_factory(fn_def("echo"))
    limits = Limits(head_timeout=0.5, idle_timeout=0.5, max_connections=4, max_per_address=4)
    with Gateway(runner.invoke, [GatewayRoute(path="/echo", function="echo")],
                 limits=limits) as gw:
        threads_before = threading.active_count()
        stalled = [socket.create_connection(("127.0.0.1", gw.port), timeout=20)
                   for _ in range(12)]
        try:
            stalled[0].sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\n")  # headers never end
            answers = [_read_all(sock) for sock in stalled]
            # Four got a slot: the silent ones are closed at the deadline, the one with half
            # a head gets 408; the eight past the cap got a 503 with Retry-After at once.
            assert answers[0].startswith(b"HTTP/1.1 408 ")
            busy = [a for a in answers if a.startswith(b"HTTP/1.1 503 ")]
            assert len(busy) == 8 and all(b"Retry-After: 1" in a for a in busy)
            assert answers.count(b"") == 3
            # No stalled client ever had a thread.
            assert threading.active_count() == threads_before
            wait_until(lambda: gw._server.open_connections == 0, "the slots to free up",
                       timeout=10, interval=0.05)
            assert _post(gw, "/echo")[0] == 200
        finally:
            for sock in stalled:
                sock.close()


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data
