"""Slow-loris clients for the hostile-client tests and the soak: bounded, loopback only,
and they stop by themselves.

:class:`Trickler` keeps ``count`` connections open to ``127.0.0.1:port``; each sends a
partial request head, then one more byte every ``interval`` seconds and never the blank
line. When the server answers (408 at its head deadline, 503 when full) or closes, the
connection is opened again, so ``count`` stay open until ``duration`` ends. It runs in
its own thread on an asyncio loop (hundreds of connections, one thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from types import TracebackType

HEAD = b"POST /infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Slow: "


class Trickler:
    """``count`` trickling connections for at most ``duration`` seconds."""

    def __init__(self, port: int, count: int, interval: float = 1.0, duration: float = 30.0,
                 head: bytes = HEAD) -> None:
        if count > 5000 or duration > 600:
            raise ValueError("a trickler is bounded: at most 5000 connections for 10 minutes")
        self.port = port
        self.count = count
        self.interval = interval
        self.duration = duration
        self.head = head
        self.open_now = 0
        self.connects = 0
        self.answered: dict[int, int] = {}  # status the server answered with -> times
        self.closed_silently = 0
        self.failed_connects = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trickler", daemon=True)

    def __enter__(self) -> Trickler:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def wait_open(self, at_least: int, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.open_now >= at_least:
                return True
            time.sleep(0.05)
        return False

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        end = time.monotonic() + self.duration
        await asyncio.gather(*(self._one(i, end) for i in range(self.count)))

    async def _one(self, i: int, end: float) -> None:
        await asyncio.sleep((i % 50) * 0.002)  # a burst, not one instant
        while not self._stop.is_set() and time.monotonic() < end:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                self.failed_connects += 1
                await asyncio.sleep(0.2)
                continue
            self.connects += 1
            self.open_now += 1
            try:
                await self._trickle(reader, writer, end)
            finally:
                self.open_now -= 1
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

    async def _trickle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       end: float) -> None:
        try:
            writer.write(self.head)
            await writer.drain()
            while not self._stop.is_set() and time.monotonic() < end:
                try:
                    data = await asyncio.wait_for(reader.read(4096), self.interval)
                except TimeoutError:
                    writer.write(b"a")
                    await writer.drain()
                    continue
                if data.startswith(b"HTTP/1.1 "):
                    status = int(data[9:12])
                    self.answered[status] = self.answered.get(status, 0) + 1
                else:
                    self.closed_silently += 1
                return
        except OSError:
            self.closed_silently += 1
