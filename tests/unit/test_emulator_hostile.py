"""The emulator's listener: a burst of connects is accepted at once (backlog >= 1024, no
SYN retries), a trickling or cut-off head never reaches a handler, errors stay OCI's."""

from __future__ import annotations

import asyncio
import json
import socket

from deploy.local.emulator import Emulator
from deploy.local.emulator.server import LIMITS


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
