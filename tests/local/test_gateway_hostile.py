"""The gateway against hostile and careless clients: trickling heads, cut-off heads,
methods it does not serve, clients that leave mid-answer. It degrades, never collapses."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.local.frontdoor import Limits
from deploy.local.gateway import Gateway, GatewayRoute
from tests.support.local import FnDefFactory, RunnerFactory, calls
from tests.support.trickle import Trickler
from tests.support.wait import wait_until


@pytest.fixture
def gateway(runner_factory: RunnerFactory, fn_def: FnDefFactory) -> Iterator[Gateway]:
    runner = runner_factory(fn_def("echo"), fn_def("slow", TESTFN_SLEEP="0.5"))
    routes = [GatewayRoute(path="/echo", function="echo", methods=("POST", "GET")),
              GatewayRoute(path="/slow", function="slow")]
    with Gateway(runner.invoke, routes) as gw:
        yield gw


def _call(gw: Gateway, method: str, path: str, body: bytes = b"{}") -> tuple[int, dict[str, str],
                                                                             bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    try:
        conn.request(method, path, body=body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _raw(port: int, data: bytes, half_close: bool = True) -> bytes:
    """Send ``data`` as is (then end our side); everything the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _error(answer: bytes) -> tuple[int, str, dict[str, str]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert headers["content-type"] == "application/json"
    return int(lines[0].split()[1]), json.loads(body)["error"]["code"], headers


def test_200_trickling_connections_and_legitimate_calls_are_still_answered(
        gateway: Gateway, fn_dir: Path) -> None:
    with Trickler(gateway.port, 200, interval=0.5, duration=20) as slow:
        assert slow.wait_open(200), f"only {slow.open_now} trickling connections opened"
        assert gateway._server.open_connections >= 200  # they are really held open
        answered = [_call(gateway, "POST", "/echo")[0] for _ in range(20)]
        assert slow.open_now >= 150  # still trickling while the calls were answered
    assert answered == [200] * 20
    assert calls(fn_dir, "echo") == 20  # no trickled head ever reached the function


def test_a_head_cut_off_mid_line_is_a_400_and_no_call(gateway: Gateway, fn_dir: Path) -> None:
    answer = _raw(gateway.port, b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
    status, code, headers = _error(answer)
    assert (status, code) == (400, "incomplete_request")
    assert headers["connection"] == "close"
    garbage = _raw(gateway.port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n")
    assert _error(garbage)[:2] == (400, "bad_request")  # a TLS hello is not a request
    assert calls(fn_dir, "echo") == 0


def test_every_method_and_path_it_does_not_serve_gets_json(gateway: Gateway) -> None:
    for method, path, status, code in (("OPTIONS", "/echo", 405, "method_not_allowed"),
                                       ("TRACE", "/echo", 405, "method_not_allowed"),
                                       ("OPTIONS", "*", 404, "not_found"),
                                       ("TRACE", "/nowhere", 404, "not_found"),
                                       ("DELETE", "/", 404, "not_found"),
                                       ("BREW", "/echo", 501, "not_implemented")):
        got, headers, body = _call(gateway, method, path, b"")
        assert got == status, (method, path)
        assert headers["content-type"] == "application/json"
        assert json.loads(body)["error"]["code"] == code


def test_a_client_that_leaves_mid_answer_is_one_debug_line(
        gateway: Gateway, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    for _ in range(3):
        sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=30)
        sock.sendall(b"POST /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}")
        # RST on close: the gateway's answer lands on a dead connection.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    wait_until(lambda: gateway._server.open_connections == 0, "the connections to end",
               timeout=30, interval=0.05)
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert noisy == []
    assert _call(gateway, "POST", "/echo")[0] == 200
    err = capfd.readouterr().err  # nothing printed past logging either (issue 27)
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_past_every_slot_new_clients_get_a_fast_503(runner_factory: RunnerFactory,
                                                   fn_def: FnDefFactory) -> None:
    runner = runner_factory(fn_def("echo"))
    limits = Limits(max_connections=50, max_per_address=50)
    with Gateway(runner.invoke, [GatewayRoute(path="/echo", function="echo")],
                 limits=limits) as gw, Trickler(gw.port, 50, interval=0.5, duration=20) as slow:
        assert slow.wait_open(50)
        wait_until(lambda: gw._server.open_connections >= 50, "the slots to fill",
                   timeout=30, interval=0.05)
        status, headers, body = _call(gw, "POST", "/echo")
        assert status == 503 and headers["retry-after"] == "1"
        assert json.loads(body)["error"]["code"] == "busy"
