"""A worker that has answered serves the connection's next request itself when its whole
head follows at once, and hands anything slower, partial or bad back to the selector,
which answers it as before."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from deploy.local.frontdoor import FrontDoor, FrontDoorHandler, Limits


class _Echo(FrontDoorHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers_with(body)


def _serve(limits: Limits) -> Iterator[FrontDoor]:
    door = FrontDoor(("127.0.0.1", 0), _Echo, limits, name="test")
    thread = threading.Thread(target=door.serve_forever, daemon=True)
    thread.start()
    try:
        yield door
    finally:
        door.shutdown()
        door.server_close()
        thread.join(5)


@pytest.fixture
def door() -> Iterator[FrontDoor]:
    yield from _serve(Limits(next_head_wait=0.5, head_timeout=5))


def _request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()


def _answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 200"), head
    return body


def test_requests_in_a_loop_stay_with_the_worker(door: FrontDoor) -> None:
    with socket.create_connection(door.server_address, timeout=10) as sock:
        for i in range(20):
            sock.sendall(_request(f"/call/{i}"))
            assert _answer(sock) == f"/call/{i}".encode()
        assert door.handed_back == 0  # every next head came within the wait
        time.sleep(0.7)  # longer than the wait: the connection goes back to the selector
        assert door.handed_back == 1
        sock.sendall(_request("/after-idle"))
        assert _answer(sock) == b"/after-idle"


def test_a_head_cut_in_two_is_answered_whole_by_the_selector(door: FrontDoor) -> None:
    with socket.create_connection(door.server_address, timeout=10) as sock:
        sock.sendall(_request("/first"))
        assert _answer(sock) == b"/first"
        sock.sendall(b"GET /second HTTP/1.1\r\nHo")  # the worker reads this part ...
        time.sleep(0.7)  # ... waits out its wait, and hands the bytes on
        sock.sendall(b"st: x\r\n\r\n")
        assert _answer(sock) == b"/second"
    assert door.handed_back >= 1


def test_a_bad_next_head_gets_the_selectors_400(door: FrontDoor) -> None:
    with socket.create_connection(door.server_address, timeout=10) as sock:
        sock.sendall(_request("/ok"))
        assert _answer(sock) == b"/ok"
        sock.sendall(b"GET /x HTTP/1.1\r\nBad Header\r\n\r\n")
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400") and b"bad_request" in answer


def test_no_wait_configured_hands_every_connection_back() -> None:
    for door in _serve(Limits(next_head_wait=0)):
        with socket.create_connection(door.server_address, timeout=10) as sock:
            for i in range(3):
                sock.sendall(_request(f"/{i}"))
                assert _answer(sock) == f"/{i}".encode()
        assert door.handed_back >= 2
