"""A front door for the local HTTP servers: a hostile client costs a socket, never a thread.

``http.server`` gives every connection a thread that blocks on reads with a per-read
timeout, so a client trickling one header byte every few seconds holds its thread (and,
with a thread cap, a slot) forever, and a header cut off by the client's close is served as
if it were complete. :class:`FrontDoor` keeps the servers' ``http.server`` handlers but
changes who waits for the client:

* one selector thread accepts every connection and reads each request head (request line
  and headers) itself, under a **whole-head deadline** (``head_timeout`` from the accept,
  or from the first byte of a keep-alive connection's next request); the head is checked
  by ``h11`` (a well-kept HTTP/1.1 parser) before anything else sees it. A head cut off by
  the client's close or malformed is a 400, one too large a 431, one too slow a 408: none
  of them reaches a handler;
* only a complete, well-formed head is handed to a bounded pool of worker threads, which
  run the handler for that one request; its body is read under a **whole-body deadline**
  (``body_timeout`` plus the time the bytes take at ``body_min_rate``);
* a keep-alive connection goes back to the selector to wait (``idle_timeout``) for its next
  head, so an idle or slow client never holds a worker; only when no request waits for a
  worker does the worker that answered wait a moment (``next_head_wait``, 5 ms) for the
  connection's next head to arrive whole, and serve it itself (a client calling in a loop
  skips two thread hand-offs a call); a head not whole by then goes to the selector with
  the bytes read, under the same deadlines;
* at most ``max_connections`` connections are open, at most ``max_per_address`` from one
  client address, and at most ``max_waiting`` complete requests wait for a worker: past
  any of them a new client gets a fast ``503`` with ``Retry-After``, never a hang;
* a client that goes away mid-answer is one debug line, never a traceback.
"""

from __future__ import annotations

import contextlib
import io
import logging
import queue
import resource
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

import h11
from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger("ocift.local.frontdoor")

#: ``error_body(status, code, message)`` -> the JSON body of a front-door answer.
ErrorBody = Callable[[int, str, str], bytes]

_RECV = 64 * 1024
_LINGER = 1.0  # seconds a refused client gets to read its answer before the close
_MAX_LINGERING = 4096


class Limits(BaseModel):
    """What one server lets a client hold, and for how long."""

    model_config = ConfigDict(frozen=True)

    backlog: int = Field(default=1024, ge=1)  # listen(2), capped by net.core.somaxconn
    max_connections: int = Field(default=2048, ge=1)
    max_per_address: int = Field(default=1536, ge=1)
    workers: int = Field(default=64, ge=1)
    max_waiting: int = Field(default=1024, ge=0)  # complete heads queued for a worker
    head_timeout: float = Field(default=10.0, gt=0)
    idle_timeout: float = Field(default=30.0, gt=0)  # keep-alive wait for the next request
    body_timeout: float = Field(default=30.0, gt=0)
    body_min_rate: float = Field(default=256 * 1024, gt=0)  # bytes/s a body must average
    write_timeout: float = Field(default=60.0, gt=0)
    next_head_wait: float = Field(default=0.005, ge=0)  # a worker's wait for the next head
    max_head_bytes: int = Field(default=64 * 1024, ge=1024)
    retry_after: int = Field(default=1, ge=1)


class RequestReader(io.BufferedIOBase):
    """The handler's ``rfile``: the bytes the front door read, then the socket, all under
    the request's deadline (``TimeoutError`` past it). ``leftover`` is what was read but not
    consumed (a pipelined next request)."""

    def __init__(self, sock: socket.socket, data: bytes, limits: Limits) -> None:
        super().__init__()
        self._sock = sock
        self._buf = bytearray(data)
        self._limits = limits
        self._start = time.monotonic()
        self._received = 0

    def readable(self) -> bool:
        return True

    @property
    def leftover(self) -> bytes:
        return bytes(self._buf)

    def _fill(self, want: int) -> bool:
        # The whole body has body_timeout plus its bytes' time at body_min_rate.
        deadline = (self._start + self._limits.body_timeout
                    + self._received / self._limits.body_min_rate)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request body did not arrive within its deadline")
        self._sock.settimeout(remaining)
        data = self._sock.recv(max(_RECV, min(want, 1024 * 1024)))
        if not data:
            return False
        self._received += len(data)
        self._buf += data
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            while self._fill(_RECV):
                pass
            size = len(self._buf)
        while len(self._buf) < size and self._fill(size - len(self._buf)):
            pass
        out = bytes(self._buf[:size])
        del self._buf[:size]
        return out

    def read1(self, size: int = -1) -> bytes:
        if not self._buf:
            self._fill(_RECV)
        return self.read(len(self._buf) if size < 0 else min(size, len(self._buf)))

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[:len(data)] = data
        return len(data)

    def discard(self, size: int) -> None:
        """Drop the next ``size`` bytes, which the front door already read."""
        del self._buf[:size]

    def readline(self, size: int | None = -1) -> bytes:
        limit = size if size is not None and size >= 0 else None
        scanned = 0
        while True:
            at = self._buf.find(b"\n", scanned)
            if at >= 0:
                end = at + 1
                break
            scanned = len(self._buf)
            if limit is not None and scanned >= limit:
                end = limit
                break
            if not self._fill(_RECV):
                end = len(self._buf)
                break
        if limit is not None:
            end = min(end, limit)
        out = bytes(self._buf[:end])
        del self._buf[:end]
        return out


class _Writer(io.BufferedIOBase):
    """The handler's ``wfile``: unbuffered writes, each under ``write_timeout``."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        super().__init__()
        self._sock = sock
        self._timeout = timeout

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._sock.settimeout(self._timeout)
        self._sock.sendall(data)
        return len(data)


class _Job:
    """One complete request head handed to a worker (the handler's ``request``): its
    bytes and what follows them, and when h11 read its headers as ``http.server`` would,
    that request and the head's length (the handler then does not parse it again)."""

    def __init__(self, sock: socket.socket, address: tuple[str, int], data: bytes,
                 limits: Limits, parsed: h11.Request | None = None, head_len: int = 0
                 ) -> None:
        self.sock = sock
        self.address = address
        self.reader = RequestReader(sock, data, limits)
        self.writer = _Writer(sock, limits.write_timeout)
        self.parsed = parsed
        self.head_len = head_len


class FrontDoorHandler(BaseHTTPRequestHandler):
    """Base of the servers' handlers: one request per hand-off, streams from the job."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        job: _Job = self.request
        self.connection = job.sock
        self.rfile = job.reader
        self.wfile = job.writer

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()

    def parse_request(self) -> bool:
        """``http.server``'s ``parse_request``, with the headers h11 already read when the
        front door found them read alike (:func:`_parsed_as_http_server`): the email
        parser ``http.client`` reads them with is half of a small request's handling."""
        job: _Job = self.request
        parsed = job.parsed
        if parsed is None:
            return super().parse_request()
        # h11 read "METHOD SP target SP HTTP/1.0|1.1": what http.server makes of that line
        raw: bytes = self.raw_requestline  # type: ignore[attr-defined]  # handle_one_request's
        requestline = str(raw, "iso-8859-1").rstrip("\r\n")
        words = requestline.split()
        if len(words) != 3:  # not the line h11 read: http.server reads it all itself
            return super().parse_request()
        command, path, version = words
        self.requestline = requestline
        self.close_connection = not (version >= "HTTP/1.1"
                                     and self.protocol_version >= "HTTP/1.1")
        self.request_version = version
        self.command, self.path = command, path
        if self.path.startswith("//"):  # as http.server does (gh-87389)
            self.path = "/" + self.path.lstrip("/")
        job.reader.discard(job.head_len - len(raw))
        headers = self.MessageClass()
        for name, value in parsed.headers.raw_items():
            headers.set_raw(name.decode("iso-8859-1"), value.decode("iso-8859-1"))
        self.headers = headers
        conntype = headers.get("Connection", "").lower()
        if conntype == "close":
            self.close_connection = True
        elif conntype == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        if (headers.get("Expect", "").lower() == "100-continue"
                and self.protocol_version >= "HTTP/1.1"
                and self.request_version >= "HTTP/1.1"):
            return self.handle_expect_100()
        return True

    def finish(self) -> None:
        pass  # the front door decides what becomes of the socket

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("%s: " + format, self.server_version, *args)

    def end_headers_with(self, body: bytes) -> None:
        """End the head and send it with ``body`` in one write (``end_headers`` then
        ``wfile.write`` is two: a second send, and a second wake-up of the client reading
        the answer)."""
        head: list[bytes] = getattr(self, "_headers_buffer", [])
        if self.request_version != "HTTP/0.9":
            head.append(b"\r\n")
        head.append(body)
        try:
            self.wfile.write(b"".join(head))
        finally:
            self._headers_buffer: list[bytes] = []

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """``http.server``'s own errors (unknown method, bad version, ...) as JSON."""
        server = self.server
        render: ErrorBody = getattr(server, "error_body", _default_error_body)
        status = HTTPStatus(code)
        body = render(code, status.name.lower(), message or explain or status.phrase)
        self.close_connection = True
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers_with(body if self.command != "HEAD" and code >= 200
                              and code not in (204, 304) else b"")


class _Conn:
    __slots__ = ("address", "buf", "deadline", "lingering", "sock", "started")

    def __init__(self, sock: socket.socket, address: tuple[str, int], deadline: float,
                 started: bool, buf: bytes = b"") -> None:
        self.sock = sock
        self.address = address
        self.buf = bytearray(buf)
        self.deadline = deadline
        self.started = started
        self.lingering = False


def _raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    goal = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < goal:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (goal, hard))


def _head_end(buf: bytearray) -> int:
    """Offset just past the head's blank line, or -1 while it is incomplete."""
    crlf = buf.find(b"\r\n\r\n")
    lf = buf.find(b"\n\n")
    ends = [at + 4 for at in (crlf,) if at >= 0] + [at + 2 for at in (lf,) if at >= 0]
    return min(ends) if ends else -1


def _check_head(head: bytes) -> str | h11.Request:
    """Why ``head`` is not a well-formed HTTP/1.x request head, or the request h11 read."""
    parser = h11.Connection(h11.SERVER)
    try:
        parser.receive_data(head)
        event = parser.next_event()
    except h11.RemoteProtocolError as exc:
        return str(exc) or "malformed request head"
    if not isinstance(event, h11.Request):
        return "malformed request head"
    return event


#: What ``http.server`` reads from a head differently from h11: a folded header line, white
#: space ending a value (h11 strips it, the email parser keeps it), a line or head longer
#: than ``http.client`` reads (431), more headers than it allows (431), a version it answers
#: 505 (h11 reads any digit.digit).
_UNLIKE_HTTP_SERVER = (b"\n ", b"\n\t", b" \r\n", b"\t\r\n", b" \n", b"\t\n")


def _parsed_as_http_server(head: bytes, request: h11.Request) -> h11.Request | None:
    """``request`` when its headers are what ``http.server`` would read from ``head`` (the
    handler then takes them instead of parsing the head again), else None."""
    if (len(head) > 65536 or request.http_version not in (b"1.0", b"1.1")
            or len(request.headers) > 100
            or any(mark in head for mark in _UNLIKE_HTTP_SERVER)):
        return None
    return request


class FrontDoor:
    """An HTTP/1.1 server on ``address`` running ``handler`` behind the front door.

    Subclasses carry what their handlers read from ``self.server``. ``serve_forever()``
    runs the selector in the calling thread; ``shutdown()`` (from another thread) ends it;
    ``server_close()`` closes the listener and every connection.
    """

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 limits: Limits | None = None, error_body: ErrorBody | None = None,
                 name: str = "http") -> None:
        self.limits = limits or Limits()
        self.handler = handler
        self.name = name
        self.error_body: ErrorBody = error_body or _default_error_body
        _raise_fd_limit(self.limits.max_connections + _MAX_LINGERING + 256)
        self.socket = socket.create_server(address, backlog=self.limits.backlog)
        self.socket.setblocking(False)
        self.server_address: tuple[str, int] = self.socket.getsockname()[:2]
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._conns: dict[int, _Conn] = {}
        self._returned: deque[tuple[socket.socket, tuple[str, int], bytes]] = deque()
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._open = 0
        self._per_address: dict[str, int] = {}
        self._busy: set[socket.socket] = set()
        self._workers: list[threading.Thread] = []
        self._idle_workers = 0
        self.handed_back = 0  # keep-alive connections a worker gave back to the selector
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        self._closed = False

    # -- what the servers read ---------------------------------------------------------------

    @property
    def open_connections(self) -> int:
        return self._open

    @property
    def saturated(self) -> bool:
        """Every connection slot is taken."""
        return self._open >= self.limits.max_connections

    # -- life cycle --------------------------------------------------------------------------

    def serve_forever(self, poll_interval: float = 0.25) -> None:
        self._stop.clear()
        self._stopped.clear()
        sel = self._selector
        sel.register(self.socket, selectors.EVENT_READ, None)
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        last_scan = time.monotonic()
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=min(poll_interval, 0.25)):
                    if key.data is None:
                        self._accept()
                    elif key.data == "wake":
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(4096)
                        self._adopt_returned()
                    else:
                        self._readable(key.data)
                now = time.monotonic()
                if now - last_scan >= 0.1:
                    last_scan = now
                    self._expire(now)
        finally:
            for conn in list(self._conns.values()):
                self._close(conn)
            while self._returned:  # keep-alive connections handed back while stopping
                sock, address, _ = self._returned.popleft()
                sock.close()
                self._forget(address[0])
            with contextlib.suppress(KeyError, ValueError):
                sel.unregister(self.socket)
            with contextlib.suppress(KeyError, ValueError):
                sel.unregister(self._wake_r)
            self._stopped.set()

    def shutdown(self) -> None:
        """End ``serve_forever`` and wait for it (from another thread)."""
        self._stop.set()
        self._wake()
        self._stopped.wait(10)

    def server_close(self) -> None:
        """Close the listener, stop the workers, cut every connection still open."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._wake()
        self.socket.close()
        for _ in self._workers:
            self._jobs.put(None)
        self.close_connections()
        with contextlib.suppress(OSError):
            self._wake_r.close()
            self._wake_w.close()

    def close_connections(self) -> None:
        """Cut the connections whose requests workers are serving."""
        with self._lock:
            busy = list(self._busy)
        for sock in busy:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    # -- the selector's side -----------------------------------------------------------------

    def _accept(self) -> None:
        for _ in range(256):
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # EMFILE and kin: leave it in the backlog
                log.warning("%s: accept failed: %s", self.name, exc)
                return
            sock.setblocking(False)
            # Heads and bodies leave in separate writes: without TCP_NODELAY, Nagle's
            # algorithm waits for the client's delayed ACK (~40 ms a call).
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            host = str(address[0])
            with self._lock:
                full = (self._open >= self.limits.max_connections
                        or self._per_address.get(host, 0) >= self.limits.max_per_address)
                if not full:
                    self._open += 1
                    self._per_address[host] = self._per_address.get(host, 0) + 1
            conn = _Conn(sock, (host, int(address[1])),
                         time.monotonic() + self.limits.head_timeout, started=True)
            if full:
                self._refuse(conn, 503, "busy", "the server has as many connections as it "
                             f"serves at once; retry after {self.limits.retry_after} s",
                             counted=False)
                continue
            self._conns[sock.fileno()] = conn
            self._selector.register(sock, selectors.EVENT_READ, conn)

    def _adopt_returned(self) -> None:
        while self._returned:
            sock, address, leftover = self._returned.popleft()
            now = time.monotonic()
            conn = _Conn(sock, address, now + (self.limits.head_timeout if leftover
                                               else self.limits.idle_timeout),
                         started=bool(leftover), buf=leftover)
            sock.setblocking(False)
            self._conns[sock.fileno()] = conn
            self._selector.register(sock, selectors.EVENT_READ, conn)
            if leftover:
                self._advance(conn)

    def _readable(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(_RECV)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if conn.lingering:
            if not data:
                self._close(conn)
            return
        if not data:
            if conn.buf.strip():
                self._refuse(conn, 400, "incomplete_request", "the request head was cut off "
                             "before its blank line; send the whole request")
            else:
                self._close(conn)
            return
        if not conn.started:
            conn.started = True
            conn.deadline = time.monotonic() + self.limits.head_timeout
        conn.buf += data
        self._advance(conn)

    def _advance(self, conn: _Conn) -> None:
        end = _head_end(conn.buf)
        if end < 0:
            if len(conn.buf) > self.limits.max_head_bytes:
                self._refuse(conn, 431, "head_too_large", "the request line and headers "
                             f"exceed {self.limits.max_head_bytes} bytes")
            return
        if end > self.limits.max_head_bytes:
            self._refuse(conn, 431, "head_too_large", "the request line and headers exceed "
                         f"{self.limits.max_head_bytes} bytes")
            return
        head = bytes(conn.buf[:end])
        checked = _check_head(head)
        if isinstance(checked, str):
            self._refuse(conn, 400, "bad_request", f"malformed request: {checked}")
            return
        if self._jobs.qsize() >= self.limits.max_waiting:
            self._refuse(conn, 503, "busy", "every worker is busy and the queue is full; "
                         f"retry after {self.limits.retry_after} s")
            return
        self._selector.unregister(conn.sock)
        del self._conns[conn.sock.fileno()]
        conn.sock.setblocking(True)
        with self._lock:
            self._busy.add(conn.sock)
            spawn = (self._idle_workers <= self._jobs.qsize()
                     and len(self._workers) < self.limits.workers)
        if spawn:
            worker = threading.Thread(target=self._work, name=f"{self.name}-worker",
                                      daemon=True)
            self._workers.append(worker)
            worker.start()
        self._jobs.put(_Job(conn.sock, conn.address, bytes(conn.buf), self.limits,
                            _parsed_as_http_server(head, checked), end))

    def _expire(self, now: float) -> None:
        for conn in [c for c in self._conns.values() if c.deadline <= now]:
            if conn.lingering or not conn.buf.strip():
                self._close(conn)
            else:
                self._refuse(conn, 408, "request_timeout", "the request head did not arrive "
                             f"within {self.limits.head_timeout:g} s")

    def _refuse(self, conn: _Conn, status: int, code: str, message: str,
                counted: bool = True) -> None:
        """Answer from the front door, then let the client read it for a moment."""
        body = self.error_body(status, code, message)
        phrase = HTTPStatus(status).phrase
        head = (f"HTTP/1.1 {status} {phrase}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n")
        if status == 503:
            head += f"Retry-After: {self.limits.retry_after}\r\n"
        log.debug("%s: %s %s from %s", self.name, status, code, conn.address[0])
        with contextlib.suppress(OSError):
            conn.sock.send(head.encode() + b"\r\n" + body)
            conn.sock.shutdown(socket.SHUT_WR)
        if not counted:
            if len(self._conns) >= self.limits.max_connections + _MAX_LINGERING:
                conn.sock.close()
                return
            with self._lock:
                self._open += 1
                self._per_address[conn.address[0]] = \
                    self._per_address.get(conn.address[0], 0) + 1
            self._conns[conn.sock.fileno()] = conn
            self._selector.register(conn.sock, selectors.EVENT_READ, conn)
        conn.lingering = True
        conn.buf.clear()
        conn.deadline = time.monotonic() + _LINGER

    def _close(self, conn: _Conn) -> None:
        fileno = conn.sock.fileno()
        if self._conns.pop(fileno, None) is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(conn.sock)
        conn.sock.close()
        self._forget(conn.address[0])

    def _forget(self, host: str) -> None:
        with self._lock:
            self._open -= 1
            left = self._per_address.get(host, 1) - 1
            if left > 0:
                self._per_address[host] = left
            else:
                self._per_address.pop(host, None)

    # -- the workers' side -------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle_workers += 1
            job = self._jobs.get()
            with self._lock:
                self._idle_workers -= 1
            if job is None:
                return
            while True:
                keep = self._run(job) and not self._stop.is_set()
                follow, leftover = self._next_job(job) if keep else (None, b"")
                if follow is None:
                    break
                job = follow
            with self._lock:
                self._busy.discard(job.sock)
            if keep and not self._stop.is_set():  # stopping may have begun while it waited
                self.handed_back += 1
                self._returned.append((job.sock, job.address, leftover))
                self._wake()
            else:
                with contextlib.suppress(OSError):
                    job.sock.close()
                self._forget(job.address[0])

    def _next_job(self, job: _Job) -> tuple[_Job | None, bytes]:
        """The connection's next request when its whole, well-formed head arrives within
        ``next_head_wait`` and no other request waits for a worker; else ``None`` and the
        bytes read so far (the selector takes it from there, and refuses what is bad)."""
        buf = bytearray(job.reader.leftover)
        wait = self.limits.next_head_wait
        if wait <= 0 or self._jobs.qsize():
            return None, bytes(buf)
        deadline = time.monotonic() + wait
        sock = job.sock
        while (end := _head_end(buf)) < 0:
            left = deadline - time.monotonic()
            if left <= 0 or len(buf) > self.limits.max_head_bytes:
                return None, bytes(buf)
            try:
                sock.settimeout(left)
                data = sock.recv(_RECV)
            except (TimeoutError, OSError):
                return None, bytes(buf)
            if not data:  # the client closed: the selector sees it too
                return None, bytes(buf)
            buf += data
        if end > self.limits.max_head_bytes:
            return None, bytes(buf)
        head = bytes(buf[:end])
        request = _check_head(head)
        if isinstance(request, str):
            return None, bytes(buf)
        return _Job(sock, job.address, bytes(buf), self.limits,
                    _parsed_as_http_server(head, request), end), b""

    def _run(self, job: _Job) -> bool:
        """Serve one request; True when the connection stays open for the next one."""
        try:
            handler = self.handler(job, job.address, self)  # type: ignore[arg-type]
        except (ConnectionError, TimeoutError) as exc:
            log.debug("%s: client %s went away: %s", self.name, job.address[0], exc)
            return False
        except Exception:
            log.exception("%s: request handler failed", self.name)
            return False
        return not handler.close_connection


def _default_error_body(status: int, code: str, message: str) -> bytes:
    import json

    return json.dumps({"error": {"code": code, "message": message}}).encode()
