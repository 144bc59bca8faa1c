"""One call to an fdk process over its unix socket, as Fn makes it, and what can go wrong.

fdk only ever answers 200, 502 (the function raised) or 504 (timeout); for an
HTTP-intent call the function's own status comes back in ``Fn-Http-Status``
and its headers as ``Fn-Http-H-*``.
"""

from __future__ import annotations

import contextlib
import http.client as httpclient
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httptools

FN_HTTP_PREFIX = "fn-http-h-"
_SKIPPED_HEADERS = ("content-length", "transfer-encoding", "connection")


class InvocationError(RuntimeError):
    """The call never got an fdk answer: process dead, refused, or crashed mid-call."""


class FunctionTimeout(InvocationError):
    """The call ran past the function's timeout; the process was killed."""


class FunctionBusy(InvocationError):
    """Every instance is busy and the queue is full or the wait ran out (Fn's 429).

    ``retry_after`` is the number of seconds a caller should wait (``Retry-After``).
    """

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConnectFailed(InvocationError):
    """The socket refused the connection; nothing was sent, the call can be retried."""


class UnknownFunction(KeyError):
    """No function of that name is defined."""


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP-triggered call (what API Gateway forwards to Fn)."""

    method: str
    url: str
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class InvokeResult:
    """What the function answered.

    ``fdk_status`` is fdk's own status (200, 502 or 504); ``status`` is the
    function's status (``Fn-Http-Status`` for HTTP-intent calls, else
    ``fdk_status``); ``headers`` are the function's headers (decapsulated from
    ``Fn-Http-H-*`` for HTTP-intent calls), lower-case names.
    """

    fdk_status: int
    status: int
    headers: dict[str, str]
    body: bytes
    call_id: str

    @property
    def ok(self) -> bool:
        return 200 <= self.fdk_status < 300


class _Response:
    """The parser's callbacks: the headers (lower-case names) and body of one response."""

    def __init__(self) -> None:
        self.headers: list[tuple[str, str]] = []
        self.body = bytearray()
        self.done = False
        self.keep_alive = False
        self.parser: httptools.HttpResponseParser | None = None

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        # asked now: once the message is complete the parser no longer knows
        self.keep_alive = self.parser is not None and self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done = True


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _header_line(name: str, value: str) -> str:
    if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
        raise ValueError(f"invalid header {name!r}: a name or value with a line break")
    return f"{name}: {value}\r\n"


class Unanswered(ConnectionError):
    """A reused connection closed before one byte of the answer came back.

    A live fdk never closes a connection it has read a call from without answering it
    (an error is answered 502 or 504); it closes only a connection that sat idle past its
    keep-alive timeout, before the call was read. So the call did not run and is sent
    again on a new connection; when the process has died instead, the call failed.
    """


@dataclass(frozen=True)
class Call:
    """One call as the bytes sent to fdk's ``/call``, with its ``Fn-Call-Id``."""

    data: bytes
    call_id: str
    http_intent: bool


@dataclass(frozen=True)
class Answer:
    """fdk's answer to one call: status, headers (lower-case names), body, and whether the
    connection may carry the next call (HTTP/1.1 without ``Connection: close``)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    keep_alive: bool


def encode_call(body: bytes, content_type: str, http: HttpRequest | None,
                timeout: float) -> Call:
    """The request Fn sends for one call: ``Fn-Call-Id``, ``Fn-Deadline`` ``timeout`` s from
    now, and for an HTTP-triggered call its intent, method, URL and ``Fn-Http-H-*``."""
    call_id = uuid.uuid4().hex
    lines = [
        "POST /call HTTP/1.1\r\nHost: localhost\r\n",
        _header_line("Fn-Call-Id", call_id),
        _header_line("Fn-Deadline", rfc3339(datetime.now(UTC) + timedelta(seconds=timeout))),
        _header_line("Content-Type", content_type),
        _header_line("Content-Length", str(len(body))),
    ]
    if http is not None:
        lines += [_header_line("Fn-Intent", "httprequest"),
                  _header_line("Fn-Http-Method", http.method),
                  _header_line("Fn-Http-Request-Url", http.url)]
        lines += [_header_line(f"Fn-Http-H-{key}", value) for key, value in http.headers
                  if key.lower() not in _SKIPPED_HEADERS]
    return Call("".join(lines).encode("latin-1") + b"\r\n" + body, call_id, http is not None)


def connect(listener: str, timeout: float) -> socket.socket:
    """A new connection to fdk's socket; :class:`ConnectFailed` when it is refused."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(listener)
    except OSError as exc:
        sock.close()
        raise ConnectFailed(f"connect to {listener} failed: {exc!r}") from None
    return sock


def exchange(sock: socket.socket, call: Call, timeout: float, reused: bool) -> Answer:
    """Send ``call`` on ``sock`` and read fdk's answer; raise ``TimeoutError``, ``OSError``,
    ``http.client.HTTPException``, or :class:`Unanswered` when ``reused`` and the
    connection closed before the answer began.

    The request goes out in one write and the answer is parsed by ``httptools`` (the C
    parser fdk itself serves with): this is the local function path's per-call cost.
    """
    sock.settimeout(timeout)
    try:
        sock.sendall(call.data)
    except (BrokenPipeError, ConnectionResetError) as exc:
        if reused:
            raise Unanswered(f"fdk had closed the idle connection: {exc!r}") from None
        raise
    response = _Response()
    parser = response.parser = httptools.HttpResponseParser(response)
    began = False
    while not response.done:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError as exc:
            if reused and not began:
                raise Unanswered(f"fdk reset the idle connection: {exc!r}") from None
            raise
        if not chunk:
            if reused and not began:
                raise Unanswered("fdk closed the idle connection before answering")
            raise httpclient.RemoteDisconnected("fdk closed the connection mid-answer")
        began = True
        try:
            parser.feed_data(chunk)
        except httptools.HttpParserError as exc:
            raise httpclient.HTTPException(f"fdk answered unparsable HTTP: {exc}") from None
    return Answer(parser.get_status_code(), response.headers, bytes(response.body),
                  response.keep_alive)


def call_socket(listener: str, body: bytes, content_type: str, http: HttpRequest | None,
                timeout: float) -> InvokeResult:
    """POST one call to fdk's ``/call`` on a connection of its own; raise ``TimeoutError``,
    :class:`ConnectFailed`, ``OSError`` or ``http.client.HTTPException`` when no answer
    comes back."""
    call = encode_call(body, content_type, http, timeout)
    sock = connect(listener, timeout)
    try:
        answer = exchange(sock, call, timeout, reused=False)
    finally:
        sock.close()
    return result_of(call, answer)


def result_of(call: Call, answer: Answer) -> InvokeResult:
    """What the function answered to ``call``."""
    return decode_result(answer.status, answer.headers, answer.body, call.call_id,
                         call.http_intent)


def decode_result(fdk_status: int, raw: list[tuple[str, str]], body: bytes, call_id: str,
                  http_intent: bool) -> InvokeResult:
    headers: dict[str, str] = {}
    status = fdk_status
    if http_intent:
        for key, value in raw:
            if key == "fn-http-status":
                with contextlib.suppress(ValueError):
                    status = int(value)
            elif key.startswith(FN_HTTP_PREFIX):
                name = key[len(FN_HTTP_PREFIX):]
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            elif key == "content-type":
                headers.setdefault("content-type", value)
    else:
        headers = dict(raw)
    return InvokeResult(fdk_status=fdk_status, status=status, headers=headers, body=body,
                        call_id=call_id)
