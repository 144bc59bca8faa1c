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


class _UnixHTTPConnection(httpclient.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError as exc:
            sock.close()
            raise ConnectFailed(f"connect to {self._path} failed: {exc!r}") from None
        self.sock = sock


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def call_socket(listener: str, body: bytes, content_type: str, http: HttpRequest | None,
                timeout: float) -> InvokeResult:
    """POST one call to fdk's ``/call``; raise ``TimeoutError``, :class:`ConnectFailed`,
    ``OSError`` or ``http.client.HTTPException`` when no answer comes back."""
    call_id = uuid.uuid4().hex
    headers = {
        "Fn-Call-Id": call_id,
        "Fn-Deadline": rfc3339(datetime.now(UTC) + timedelta(seconds=timeout)),
        "Content-Type": content_type,
        "Content-Length": str(len(body)),
    }
    if http is not None:
        headers["Fn-Intent"] = "httprequest"
        headers["Fn-Http-Method"] = http.method
        headers["Fn-Http-Request-Url"] = http.url
    conn = _UnixHTTPConnection(listener, timeout=timeout)
    try:
        conn.connect()
        conn.putrequest("POST", "/call", skip_accept_encoding=True)
        for key, value in headers.items():
            conn.putheader(key, value)
        if http is not None:
            for key, value in http.headers:
                if key.lower() not in _SKIPPED_HEADERS:
                    conn.putheader(f"Fn-Http-H-{key}", value)
        conn.endheaders(body)
        response = conn.getresponse()
        raw_headers = [(k.lower(), v) for k, v in response.getheaders()]
        payload = response.read()
    finally:
        conn.close()
    return decode_result(response.status, raw_headers, payload, call_id, http is not None)


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
