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

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

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


def call_socket(listener: str, body: bytes, content_type: str, http: HttpRequest | None,
                timeout: float) -> InvokeResult:
    """POST one call to fdk's ``/call``; raise ``TimeoutError``, :class:`ConnectFailed`,
    ``OSError`` or ``http.client.HTTPException`` when no answer comes back.

    The request goes out in one write and the answer is parsed by ``httptools`` (the C
    parser fdk itself serves with): this is the local function path's per-call cost.
    """
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
    request = "".join(lines).encode("latin-1") + b"\r\n" + body
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(listener)
        except OSError as exc:
            raise ConnectFailed(f"connect to {listener} failed: {exc!r}") from None
        sock.sendall(request)
        response = _Response()
        parser = httptools.HttpResponseParser(response)
        while not response.done:
            chunk = sock.recv(65536)
            if not chunk:
                raise httpclient.RemoteDisconnected("fdk closed the connection mid-answer")
            try:
                parser.feed_data(chunk)
            except httptools.HttpParserError as exc:
                raise httpclient.HTTPException(f"fdk answered unparsable HTTP: {exc}") from None
        status = parser.get_status_code()
    finally:
        sock.close()
    return decode_result(status, response.headers, bytes(response.body), call_id,
                         http is not None)


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
