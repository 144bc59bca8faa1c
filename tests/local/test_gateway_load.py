"""The gateway under pressure: 429 with Retry-After at the limit, stalled clients dropped."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from pathlib import Path

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
    assert json.loads(body)["code"] == "TooManyRequests"
    assert first == [200]  # the call in flight was not disturbed
    assert calls(fn_dir, "slow") == 1


def test_stalled_clients_are_dropped_and_threads_stay_bounded(
        runner_factory: RunnerFactory, fn_def: FnDefFactory) -> None:
    runner = runner_factory(fn_def("echo"))
    with Gateway(runner.invoke, [GatewayRoute(path="/echo", function="echo")],
                 read_timeout=0.5, max_connections=4) as gw:
        threads_before = threading.active_count()
        peak = [threads_before]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.01):
                peak.append(threading.active_count())

        sampler = threading.Thread(target=sample)
        sampler.start()
        stalled = [socket.create_connection(("127.0.0.1", gw.port), timeout=20)
                   for _ in range(12)]
        try:
            stalled[0].sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\n")  # headers never end
            # Every stalled client is closed by the server after the read timeout (EOF)...
            assert [sock.recv(1024) for sock in stalled] == [b""] * 12
            done.set()
            sampler.join()
            # ...and they never had more than max_connections threads (+1: the sampler).
            assert max(peak) - threads_before <= 4 + 1
            assert _post(gw, "/echo")[0] == 200
        finally:
            done.set()
            for sock in stalled:
                sock.close()
