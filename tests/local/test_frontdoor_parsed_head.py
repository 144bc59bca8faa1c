"""A request whose head h11 read as ``http.server`` would is not parsed twice; every other
head is parsed by ``http.server`` itself. Either way the handler sees exactly what a plain
``http.server`` gives it: each raw request below is sent to the front door and to a
``ThreadingHTTPServer`` with the same handler, and the two answers are compared."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from deploy.local.frontdoor import FrontDoor, FrontDoorHandler, Limits


def _seen(handler: BaseHTTPRequestHandler) -> bytes:
    length = int(handler.headers.get("Content-Length") or 0)
    return json.dumps({
        "command": handler.command, "path": handler.path,
        "version": handler.request_version, "requestline": handler.requestline,
        "close": handler.close_connection, "headers": list(handler.headers.items()),
        "host": handler.headers.get("host"), "all_x": handler.headers.get_all("X-Dup"),
        "body": handler.rfile.read(length).decode("latin-1"),
    }).encode()


class _Plain(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = _seen(self)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST  # noqa: N815


class _Door(FrontDoorHandler):
    fast: ClassVar[list[bool]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.fast.append(self.request.parsed is not None)
        body = _seen(self)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers_with(body)

    do_GET = do_POST  # noqa: N815


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[int, int]]:
    door = FrontDoor(("127.0.0.1", 0), _Door, Limits(head_timeout=5), name="test")
    plain = ThreadingHTTPServer(("127.0.0.1", 0), _Plain)
    threads = [threading.Thread(target=door.serve_forever, daemon=True),
               threading.Thread(target=plain.serve_forever, daemon=True)]
    for thread in threads:
        thread.start()
    try:
        yield door.server_address[1], plain.server_address[1]
    finally:
        door.shutdown()
        door.server_close()
        plain.shutdown()
        plain.server_close()
        for thread in threads:
            thread.join(5)


def _exchange(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(raw)
        data = b""
        while True:
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:  # an HTTP/0.9-style answer: a body with no status line
                    return b"(no status line)"
                data += chunk
            if not data.startswith(b"HTTP/1.1 100 "):
                break
            data = data.partition(b"\r\n\r\n")[2]  # the interim answer to Expect
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            return head.split(b"\r\n", 1)[0]  # errors: the status (bodies differ in format)
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while len(body) < length:
            body += sock.recv(65536)
        return head.split(b"\r\n", 1)[0] + b"\n" + body


_BODY = b'{"prompt": "hi"}'
FAST = {
    "post": b"POST /infer HTTP/1.1\r\nHost: 127.0.0.1:8\r\nAccept-Encoding: identity\r\n"
            b"Content-Length: 16\r\nContent-Type: application/json\r\n\r\n" + _BODY,
    "http_1_0_and_keep_alive": b"POST /infer?x=1 HTTP/1.0\r\nConnection: keep-alive\r\n"
                               b"Content-Length: 16\r\n\r\n" + _BODY,
    "close_and_case": b"GET //double/slash HTTP/1.1\r\nhOsT: a\r\nConnection: Close\r\n\r\n",
    "duplicates_and_latin1": b"GET /d HTTP/1.1\r\nHost: h\r\nX-Dup: one\r\nx-dup: two\r\n"
                             b"X-Latin: caf\xe9\r\nX-Sp:   lead\r\n\r\n",
    "bare_lf": b"GET /lf HTTP/1.1\nHost: h\nX-A: b\n\n",
    "expect_continue": b"POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
                       b"Content-Length: 16\r\n\r\n" + _BODY,
}
SLOW = {
    "folded": b"GET /f HTTP/1.1\r\nHost: h\r\nX-Fold: a\r\n b\r\n\r\n",
    "trailing_space": b"GET /t HTTP/1.1\r\nHost: h \r\nX-T: v\t\r\n\r\n",
    "many_headers": b"GET /m HTTP/1.1\r\nHost: h\r\n"
                    + b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n",
    "version_2": b"GET /v HTTP/2.0\r\nHost: h\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(FAST) + sorted(SLOW))
def test_the_handler_sees_what_http_server_gives_it(name: str,
                                                    servers: tuple[int, int]) -> None:
    raw = FAST.get(name) or SLOW[name]
    door_port, plain_port = servers
    _Door.fast.clear()
    from_door = _exchange(door_port, raw)
    assert from_door == _exchange(plain_port, raw)
    assert _Door.fast == ([name in FAST] if from_door.startswith(b"HTTP/1.1 200") else [])
    if name in FAST:
        assert from_door.startswith(b"HTTP/1.1 200")
