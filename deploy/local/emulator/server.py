"""One threaded HTTP/1.1 server on loopback serving every emulated OCI service.

Each request: match a route, verify the OCI request signature (401
``NotAuthenticated`` otherwise), check ``x-content-sha256`` when it is signed,
apply injected faults, run the handler, stream the answer (Content-Length or
chunked) with an ``opc-request-id``. ``/_emulator/...`` admin routes (fault
settings) exist only while the server is bound to loopback and need a request signed by
an administrator's key (401 ``NotAuthenticated`` unsigned, 404
``NotAuthorizedOrNotFound`` for any other principal), so another local process cannot
switch on ``rate_500``.

Connections go through :class:`deploy.local.frontdoor.FrontDoor`: a listen backlog of
1024 (a burst of connects is accepted at once, not left to SYN retries), whole-request
deadlines for the head and the body, connection caps with a fast 503; keep-alive
connections may idle for 300 s (the SDK's pooled connections) without holding a thread.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO, cast
from urllib.parse import parse_qs, urlsplit

from pydantic import ValidationError

from deploy.local.emulator.faults import Faults
from deploy.local.emulator.http import (
    JSON_TYPE,
    Body,
    Headers,
    Request,
    Response,
    Route,
    Router,
    Service,
    ServiceError,
)
from deploy.local.emulator.iam import Authorizer, PrincipalRegistry, admin_principal
from deploy.local.emulator.iam.principals import ADMIN_GROUP
from deploy.local.emulator.keys import ensure_identity
from deploy.local.emulator.limits import check_request
from deploy.local.emulator.signing import SignatureError, Verifier, not_authenticated
from deploy.local.frontdoor import FrontDoor, FrontDoorHandler, Limits

log = logging.getLogger("ocift.emulator")

ADMIN_PREFIX = "/_emulator/"
DRAIN_LIMIT = 64 * 1024 * 1024
#: What one client may hold: long keep-alive idles (pooled SDK connections cost a socket,
#: not a thread), a minute plus 1 MiB/s for a body (object uploads).
LIMITS = Limits(workers=128, idle_timeout=300.0, body_timeout=60.0,
                body_min_rate=1024 * 1024, write_timeout=300.0)
SPOOL_IN_MEMORY = 1024 * 1024
COPY_CHUNK = 256 * 1024


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EmulatorServer:
    """Serves ``services`` on ``host:port`` (port 0 = ephemeral) from background threads."""

    def __init__(self, state_dir: Path, services: list[Service], host: str = "127.0.0.1",
                 port: int = 0, faults: Faults | None = None,
                 verifier: Verifier | None = None, principals: PrincipalRegistry | None = None,
                 authorizer: Authorizer | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.services = list(services)
        self.host = host
        self.faults = faults or Faults()
        self.principals = principals or PrincipalRegistry()
        if verifier is None:
            identity = ensure_identity(self.state_dir)
            verifier = Verifier({identity.key_id: identity.public_key()})
            self.principals.add(identity.key_id, admin_principal(identity.user))
        self.verifier = verifier
        #: IAM enforcement (``None``: every authenticated request is allowed).
        self.authorizer = authorizer
        self.admin_enabled = _is_loopback(host)
        self.router = Router()
        for service in self.services:
            for route in service.routes():
                self.router.add(route)
        self._requested_port = port
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the emulator server is not started")
        return int(self._httpd.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Bind and serve in a background thread (idempotent)."""
        if self._httpd is not None:
            return
        httpd = _HttpServer((self.host, self._requested_port), _Handler, LIMITS,
                            _error_body, name="ocift-emulator")
        httpd.emulator = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="ocift-emulator",
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        log.info("emulator listening", extra={"endpoint": self.endpoint})

    def stop(self) -> None:
        """Stop serving, drop open connections, stop services with a ``stop()``."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
            httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for service in self.services:
            stop = getattr(service, "stop", None)
            if callable(stop):
                stop()

    # -- request pipeline --------------------------------------------------------------------

    def handle(self, req: Request) -> Response:
        """Authenticate, inject faults and dispatch one request."""
        if req.raw_path.startswith(ADMIN_PREFIX) and self.admin_enabled:
            return self._admin(req)
        route: Route | None = None
        params: dict[str, str] = {}
        miss: ServiceError | None = None
        try:
            route, params = self.router.match(req.method, req.raw_path)
        except ServiceError as exc:
            miss = exc
        key_id = self._authenticate(req, route.body_signed if route else True)
        latency, failure = self.faults.draw()
        if latency:
            time.sleep(latency)
        if failure == 429:
            retry_after = str(self.faults.settings.retry_after_s)
            raise ServiceError(429, "TooManyRequests", "Too many requests (injected fault).",
                               headers={"Retry-After": retry_after})
        if failure == 500:
            raise ServiceError(500, "InternalServerError", "Internal error (injected fault).")
        if miss is not None or route is None:
            raise miss or ServiceError(404, "NotFound", "no route")
        if self.authorizer is not None:
            principal = self.principals.lookup(key_id)
            if principal is None:  # a key the verifier knows but IAM does not: no grants
                raise not_authenticated("the key belongs to no principal")
            self.authorizer.authorize(principal, route, req, params)
        check_request(route, req)
        return route.handler(req, params)

    def _authenticate(self, req: Request, body_signed: bool) -> str:
        """Verify the signature; return the signing ``keyId``."""
        try:
            signed = self.verifier.verify(req.method, req.raw_target, req.headers, body_signed)
        except SignatureError as exc:
            raise not_authenticated(str(exc)) from None
        if "x-content-sha256" in signed.headers:
            req.body = _verified_body(req.body, req.headers["x-content-sha256"])
        return signed.key_id

    def _admin(self, req: Request) -> Response:
        principal = self.principals.lookup(self._authenticate(req, True))
        if principal is None or ADMIN_GROUP not in principal.groups:
            raise ServiceError(404, "NotAuthorizedOrNotFound",
                               "the emulator's admin routes need the administrator's key")
        if req.raw_path.rstrip("/") != "/_emulator/faults":
            raise ServiceError(404, "NotFound", "unknown admin route")
        if req.method == "POST":
            try:
                values = req.json()
                if not isinstance(values, dict):
                    raise ServiceError(400, "InvalidParameter", "expected a JSON object")
                self.faults.update(**values)
            except (ValidationError, TypeError) as exc:
                raise ServiceError(400, "InvalidParameter", str(exc).splitlines()[0]) from None
        elif req.method != "GET":
            raise ServiceError(405, "MethodNotAllowed", "use GET or POST")
        return Response.json(self.faults.settings.model_dump())


def _verified_body(body: Body, expected: str) -> Body:
    """Spool the body while hashing it; 401 if it does not match ``x-content-sha256``."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - returned
    digest = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: body.read(COPY_CHUNK), b""):
        digest.update(chunk)
        spool.write(chunk)
        size += len(chunk)
    if base64.b64encode(digest.digest()).decode("ascii") != expected.strip():
        spool.close()
        raise not_authenticated("x-content-sha256 does not match the body")
    spool.seek(0)
    return Body(cast(BinaryIO, spool), size, chunked=False)


class _HttpServer(FrontDoor):
    emulator: EmulatorServer


class _Handler(FrontDoorHandler):
    server_version = "ocift-emulator"
    server: _HttpServer  # type: ignore[assignment]  # a FrontDoor, not a socketserver

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http %s", format % args)

    def _serve(self) -> None:
        request_id = uuid.uuid4().hex.upper()
        headers = Headers(self.headers.items())
        split = urlsplit(self.path)
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        try:
            length = int(headers.get("content-length", "0") or 0)
        except ValueError:
            length = -1
        body = Body(cast(BinaryIO, self.rfile), max(length, 0), chunked)
        req = Request(method=self.command, raw_path=split.path or "/",
                      query=parse_qs(split.query, keep_blank_values=True), headers=headers,
                      body=body, request_id=request_id, raw_target=self.path)
        extra = {"opc-request-id": request_id}
        if "opc-client-request-id" in headers:
            extra["opc-client-request-id"] = headers["opc-client-request-id"]
        try:
            if length < 0:
                raise ServiceError(400, "CannotParseRequest", "invalid Content-Length")
            response = self.server.emulator.handle(req)
        except ServiceError as exc:
            response = _error_response(exc)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        except Exception:
            log.exception("emulator handler failed", extra={"opc-request-id": request_id})
            response = _error_response(ServiceError(500, "InternalServerError",
                                                    "Internal error in the emulator."))
        if not req.body.exhausted:
            try:
                if not req.body.drain(DRAIN_LIMIT):
                    self.close_connection = True
            except (ConnectionError, ServiceError, OSError):
                self.close_connection = True
        bad = _unsendable(response.headers)
        if bad:
            log.error("emulator response header not encodable", extra={"headers": bad})
            response = _error_response(ServiceError(
                500, "InternalServerError", f"emulator bug: header(s) {', '.join(bad)} are not "
                "encoded as OCI encodes them"))
        response.headers.update(extra)
        self._write(response)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _serve  # noqa: N815

    def _write(self, response: Response) -> None:
        names = {k.lower() for k in response.headers}
        body = response.body
        head_only = self.command == "HEAD" or response.status in (204, 304)
        stream: Iterable[bytes] | None = None
        if isinstance(body, (bytes, bytearray)):
            if "content-length" not in names:
                response.headers["Content-Length"] = str(len(body))
        elif body is None:
            if "content-length" not in names:
                response.headers["Content-Length"] = "0"
        else:
            stream = body
            if "content-length" not in names and not head_only:
                response.headers["Transfer-Encoding"] = "chunked"
        try:
            self.send_response(response.status)
            for key, value in response.headers.items():
                self.send_header(key, value)
            if head_only or stream is None:
                whole = body if isinstance(body, (bytes, bytearray)) and not head_only else b""
                self.end_headers_with(bytes(whole))
                return
            self.end_headers()  # a streamed body follows the head chunk by chunk
            chunked = "Transfer-Encoding" in response.headers
            for chunk in stream:
                if not chunk:
                    continue
                if chunked:
                    self.wfile.write(f"{len(chunk):X}\r\n".encode() + chunk + b"\r\n")
                else:
                    self.wfile.write(chunk)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (ConnectionError, OSError):
            self.close_connection = True
        finally:
            close = getattr(stream, "close", None)
            if callable(close):
                close()


#: The front door's own codes as OCI names them (API Errors:
#: https://docs.oracle.com/en-us/iaas/Content/API/References/apierrors.htm).
_OCI_CODES = {"incomplete_request": "CannotParseRequest", "bad_request": "CannotParseRequest",
              "busy": "ServiceUnavailable"}


def _error_body(status: int, code: str, message: str) -> bytes:
    """OCI's error body, ``{"code", "message"}`` (also for the front door's answers)."""
    return json.dumps({"code": _OCI_CODES.get(code, code), "message": message}).encode("utf-8")


def _error_response(exc: ServiceError) -> Response:
    headers = {"Content-Type": JSON_TYPE}
    headers.update(exc.headers)
    payload = _error_body(exc.status, exc.code, exc.message)
    return Response(status=exc.status, headers=headers, body=payload)



def _unsendable(headers: dict[str, str]) -> list[str]:
    """Headers ``http.server`` cannot write (outside Latin-1): a handler bug, never sent.

    OCI percent-encodes names it echoes in headers (``Location``); ``opc-meta-*`` values
    are the client's own octets. A value outside Latin-1 used to fail mid-response (issue
    23); it becomes a whole 500 naming the header instead, so a test sees it.
    """
    bad = []
    for key, value in headers.items():
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            bad.append(key)
    return bad
