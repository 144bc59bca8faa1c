"""Local stand-in for OCI API Gateway in front of HTTP-triggered functions.

Only configured routes exist (``POST /infer`` -> the ``infer`` function); any
other path is a JSON 404 and nothing reaches the event stages. A body larger
than ``max_body_bytes`` is refused with a JSON 413 before the function is
called. The call is made with Fn's HTTP intent, and the function's status,
headers and body are passed back to the caller. A function that never
answers yields 502 (crashed) or 504 (timed out), as API Gateway reports them;
a function at its concurrency limit yields 429 with ``Retry-After`` (OCI
Functions throttles with 429:
https://docs.oracle.com/en-us/iaas/Content/Functions/Reference/functionsmetrics.htm).

Every answer the gateway itself gives (404, 405, 411, 413, 429, 502, 504, and the
front door's 400/408/431/503) has the body ``{"error": {"code": ..., "message": ...}}``
with a snake_case code, the shape and code style the ``infer`` function answers with
(:data:`ERROR_CODES`), so a caller reads one shape on ``/infer``; every method on every
path gets a JSON answer (OPTIONS and TRACE included: 405 with ``Allow`` on a route, 404
elsewhere).

Under load it degrades, never collapses: connections go through
:class:`~deploy.local.frontdoor.FrontDoor` (whole-request deadlines for the head and the
body, a cap on connections per client address, a fast 503 with ``Retry-After`` when
full, no thread held by a slow or idle client), and while every connection slot is
taken, answers close their connection so waiting clients get a turn.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from deploy.local.frontdoor import FrontDoor, FrontDoorHandler, Limits
from deploy.local.runner import (
    FunctionBusy,
    FunctionTimeout,
    HttpRequest,
    InvocationError,
    InvokeResult,
)

log = logging.getLogger("ocift.local.gateway")

#: ``invoke(function, body, content_type=..., http=...)``, as ``FunctionRunner.invoke``.
Invoke = Callable[..., InvokeResult]

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length",
                         "upgrade", "proxy-connection", "te", "trailer"})


class GatewayRoute(BaseModel):
    """One API deployment route: path -> function, for the listed methods."""

    model_config = ConfigDict(frozen=True)

    path: str = Field(pattern=r"^/")
    function: str
    methods: tuple[str, ...] = ("POST",)


#: The gateway's own error codes (README, "The inference route"; the function's codes are
#: in shared/infer/errors.py, the front door's in deploy/local/frontdoor.py).
ERROR_CODES = {404: "not_found", 405: "method_not_allowed", 411: "length_required",
               400: "bad_request", 413: "body_too_large", 429: "throttled",
               502: "bad_gateway", 504: "gateway_timeout"}


def error_body(status: int, code: str, message: str) -> bytes:
    """The gateway's error body: ``{"error": {"code", "message"}}``."""
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class Gateway:
    """HTTP server on 127.0.0.1 forwarding configured routes to functions."""

    def __init__(self, invoke: Invoke, routes: list[GatewayRoute], host: str = "127.0.0.1",
                 port: int = 0, max_body_bytes: int = 256 * 1024,
                 limits: Limits | None = None) -> None:
        self.invoke = invoke
        self.routes: Mapping[str, GatewayRoute] = {r.path.rstrip("/") or "/": r for r in routes}
        self.max_body_bytes = max_body_bytes
        self.host = host
        self.limits = limits or Limits(workers=128)
        self._server = FrontDoor((host, port), _handler_class(self), self.limits,
                                 error_body, name="gateway")
        self._thread: threading.Thread | None = None

    @property
    def saturated(self) -> bool:
        """Every connection slot is taken (answers then close their connection)."""
        return self._server.saturated

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(10)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Gateway:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_class(gateway: Gateway) -> type[FrontDoorHandler]:
    class Handler(FrontDoorHandler):
        server_version = "ocift-local-gateway"
        # Headers and body leave in two writes: without TCP_NODELAY, Nagle's algorithm waits
        # for the client's delayed ACK and every call gains ~40 ms (measured by bench/infer_bench).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("gateway %s", format % args)

        def _json(self, status: int, code: str, message: str, close: bool = False,
                  headers: Mapping[str, str] | None = None) -> None:
            body = error_body(status, code, message)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            if close or gateway.saturated:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers_with(b"" if self.command == "HEAD" else body)

        def _serve(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/") or "/"
            route = gateway.routes.get(path)
            if route is None:
                self._json(404, "not_found", f"no route for {path}", close=True)
                return
            if self.command not in route.methods:
                allowed = ", ".join(route.methods)
                self._json(405, "method_not_allowed", f"{path} accepts {allowed}", close=True,
                           headers={"Allow": allowed})
                return
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                self._json(411, "length_required", "send Content-Length", close=True)
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self._json(400, "bad_request", "bad Content-Length", close=True)
                return
            if length < 0:
                self._json(400, "bad_request", "bad Content-Length", close=True)
                return
            if length > gateway.max_body_bytes:
                self._json(413, "body_too_large",
                           f"request body {length} bytes exceeds the limit of "
                           f"{gateway.max_body_bytes} bytes", close=True)
                return
            body = self.rfile.read(length) if length else b""
            host = self.headers.get("Host") or f"127.0.0.1:{gateway.port}"
            request = HttpRequest(method=self.command, url=f"http://{host}{self.path}",
                                  headers=list(self.headers.items()))
            try:
                result = gateway.invoke(
                    route.function, body,
                    content_type=self.headers.get("Content-Type", "application/octet-stream"),
                    http=request)
            except FunctionBusy as exc:
                self._json(429, "throttled", str(exc),
                           headers={"Retry-After": str(exc.retry_after)})
                return
            except FunctionTimeout as exc:
                self._json(504, "gateway_timeout", str(exc))
                return
            except (InvocationError, PermissionError) as exc:  # no answer, or no invoke grant
                self._json(502, "bad_gateway", str(exc))
                return
            self.send_response(result.status)
            for key, value in result.headers.items():
                if key not in _HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(result.body)))
            self.send_header("opc-request-id", result.call_id)
            if gateway.saturated:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers_with(result.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve  # noqa: N815
        do_OPTIONS = do_TRACE = do_CONNECT = _serve  # noqa: N815

    return Handler
