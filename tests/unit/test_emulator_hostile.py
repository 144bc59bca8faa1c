"""The emulator's listener: a burst of connects is accepted at once (backlog >= 1024, no
SYN retries), a trickling or cut-off head never reaches a handler, errors stay OCI's."""

from __future__ import annotations

import asyncio
import json
import socket

from deploy.local.emulator import Emulator
from deploy.local.emulator.server import LIMITS
from tests.support.wait import wait_until


async def _burst(port: int, n: int) -> list[bytes]:
    async def one() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"GET /n/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            await writer.drain()
            return await asyncio.wait_for(reader.read(), 60)
        finally:
            writer.close()

    return list(await asyncio.gather(*(one() for _ in range(n))))


def test_200_concurrent_connects_are_all_accepted_and_answered(emulator: Emulator) -> None:
    assert LIMITS.backlog >= 1024
    answers = asyncio.run(_burst(emulator.server.port, 200))
    assert len(answers) == 200
    assert all(a.startswith(b"HTTP/1.1 401 ") for a in answers)  # unsigned: refused, answered
    body = answers[0].partition(b"\r\n\r\n")[2]
    assert json.loads(body)["code"] == "NotAuthenticated"


def test_a_cut_off_head_is_a_400_in_ocis_error_shape(emulator: Emulator) -> None:
    with socket.create_connection(("127.0.0.1", emulator.server.port), timeout=30) as sock:
        sock.sendall(b"PUT /n/ns/b/b/o/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Len")
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body)["code"] == "CannotParseRequest"


def test_clients_that_leave_mid_request_or_mid_answer_print_no_traceback(
        emulator: Emulator, capfd: object, caplog: object) -> None:
    """A browser or SDK that goes away is one debug line at most, never a traceback on the
    terminal running ``ocift up`` (issue 27)."""
    import logging
    import struct

    import pytest

    assert isinstance(capfd, pytest.CaptureFixture) and isinstance(caplog,
                                                                   pytest.LogCaptureFixture)
    caplog.set_level(logging.DEBUG)
    port = emulator.server.port
    for i in range(20):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        if i % 2:  # mid-body: the head promises a megabyte, a few bytes come
            sock.sendall(b"PUT /n/ns/b/b/o/x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Length: 1048576\r\n\r\nabc")
        else:  # mid-answer: gone before the 401 is written
            sock.sendall(b"GET /n/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # RST
    httpd = emulator.server._httpd
    assert httpd is not None
    wait_until(lambda: httpd.open_connections == 0, "the dead connections to end",
               timeout=30, interval=0.05)
    answers = asyncio.run(_burst(port, 1))
    assert answers[0].startswith(b"HTTP/1.1 401 ")  # still serving
    _, err = capfd.readouterr()
    assert "Traceback" not in err and "BrokenPipe" not in err and "ConnectionReset" not in err
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert noisy == []
