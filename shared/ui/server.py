"""The HTTP server behind ``ocift ui`` (loopback only, behind the local front door).

Connections go through :class:`deploy.local.frontdoor.FrontDoor` (whole-request
deadlines, connection caps, a fast 503 when full; a slow client holds no thread). Every
route but ``/login`` needs the session the login link sets (401 ``no_session``
otherwise); on the local target each request re-reads ``target.json``, so the page follows
a restarted ``ocift up`` and says at once when none runs (503 ``target_not_running``).

Routes (JSON unless said otherwise; errors are ``{"error": {"code", "message"}}``):

    GET  /login?token=T         spends the one-time token, sets the session, -> /
    GET  /                      the page (carries the write token)
    GET  /static/<file>         its script and style sheet (package data)
    GET  /api/overview          datasets, stages, billable resources
    GET  /api/dataset?name=N    one dataset: report, status, versions, endpoint, dead letters
    GET  /api/deadletters       dead-lettered deliveries (local target)
    POST /api/redrive           {"delivery_ids": [...]} (local target)          token
    POST /api/ask               the inference function's body (its errors as it answers them) token
    POST /api/upload?filename=F[&name=N][&training=1][&spec_<field>=V...]  the file's bytes  token
    GET  /api/jobdefaults       the upload form's job-spec fields and the pipeline's values
    POST /api/decision          {"dataset": N, "decision": "approve"|"reject"}  token
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ValidationError

from deploy.local.frontdoor import FrontDoor, FrontDoorHandler, Limits
from shared.cli.connection import DEFAULT_STATE_DIR, Connection
from shared.ui.errors import UiError
from shared.ui.follow import TargetFollower
from shared.ui.guard import Guard
from shared.ui.models import DecisionRequest, RedriveRequest
from shared.ui.view import PipelineView

log = logging.getLogger("ocift.ui")

MAX_JSON_BYTES = 256 * 1024
STATIC = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
Route = Callable[["_Handler", dict[str, list[str]]], Any]


def static_text(name: str) -> str:
    return resources.files("shared.ui").joinpath("static", name).read_text(encoding="utf-8")


def _one(query: dict[str, list[str]], key: str, required: bool = True) -> str | None:
    values = query.get(key)
    if not values:
        if required:
            raise UiError(400, "missing_parameter", f"the query parameter {key!r} is required")
        return None
    return values[0]


def _error_body(status: int, code: str, message: str) -> bytes:
    return UiError(status, code, message).body()


class _Handler(FrontDoorHandler):
    server: UiServer  # type: ignore[assignment]  # a FrontDoor, not a socketserver
    server_version = "ocift-ui"
    sys_version = ""

    # -- plumbing --------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("ui request: " + format, *args)  # paths may name datasets: debug only

    def _send(self, status: int, body: bytes, content_type: str,
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        if isinstance(value, BaseModel):
            body = value.model_dump_json().encode()
        else:
            body = json.dumps(value).encode()
        self._send(status, body, "application/json")

    def _error(self, exc: UiError, extra: dict[str, str] | None = None) -> None:
        self._send(exc.status, exc.body(), "application/json", extra)

    def _length(self) -> int:
        raw = self.headers.get("Content-Length")
        if raw is None:
            raise UiError(411, "length_required", "send a Content-Length header with the body")
        try:
            length = int(raw)
        except ValueError:
            raise UiError(400, "bad_length", f"Content-Length {raw!r} is not a number") from None
        if length < 0:
            raise UiError(400, "bad_length", "Content-Length must not be negative")
        return length

    def _json_body(self) -> bytes:
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise UiError(415, "unsupported_media_type",
                          f"send the body as application/json, not {ctype or 'no type'}")
        length = self._length()
        if length > MAX_JSON_BYTES:
            raise UiError(413, "body_too_large", f"the body has {length} bytes; at most "
                          f"{MAX_JSON_BYTES} are accepted")
        return self.rfile.read(length)

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        routes = ROUTES.get(url.path)
        if method != "GET":
            self.close_connection = True  # an error answer leaves the body unread
        guard = self.server.guard
        headers = {k: v for k, v in self.headers.items()}
        try:
            if url.path == "/login" and method == "GET":
                guard.check_read(headers)
                token = _one(query, "token") or ""
                self._send(303, b"", "text/plain", {"Set-Cookie": guard.login(token),
                                                    "Location": "/"})
                return
            guard.check_session(headers)  # no route, not even a 404, without the session
            if routes is None:
                raise UiError(404, "not_found", f"no route {url.path!r}: the page is at /")
            route = routes.get(method)
            if route is None:
                allowed = ", ".join(sorted(routes))
                self._error(UiError(405, "method_not_allowed",
                                    f"{method} is not allowed on {url.path}; use {allowed}"),
                            {"Allow": allowed})
                return
            if method == "POST":
                guard.check_write(headers)
            self._follow(lambda: route(self, query), retry=method == "GET")
        except UiError as exc:
            self._error(exc, {"Retry-After": "2"} if exc.status == 503 else None)
        except (ConnectionError, TimeoutError):
            raise  # the client went away: the front door logs one debug line
        except Exception:
            log.exception("ui route failed")
            self._error(UiError(500, "internal_error", "the page's server failed; see the "
                                "terminal running 'ocift ui'"))

    def _follow(self, run: Callable[[], None], retry: bool) -> None:
        """Run a route on the current target's view; once more if it moved under us."""
        server = self.server
        if server.follower is None:
            run()
            return
        server.view = server.follower.view()
        try:
            run()
        except UiError as exc:
            if exc.code not in ("upstream_unreachable", "upstream_error"):
                raise
            before = server.view
            server.view = server.follower.view()  # 503 when the target is gone
            if server.view is before or not retry:
                raise
            run()

    def _serve(self) -> None:
        self._dispatch("GET" if self.command == "HEAD" else self.command)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _serve  # noqa: N815
    do_OPTIONS = do_TRACE = _serve  # noqa: N815

    # -- routes ----------------------------------------------------------------------------

    def page(self, query: dict[str, list[str]]) -> None:
        html = static_text("index.html").replace("{{TOKEN}}", self.server.guard.token)
        self._send(200, html.encode(), "text/html; charset=utf-8")

    def static(self, query: dict[str, list[str]]) -> None:
        name = urlsplit(self.path).path.rsplit("/", 1)[-1]
        self._send(200, static_text(name).encode(), STATIC[name])

    def overview(self, query: dict[str, list[str]]) -> None:
        self._json(200, self.server.view.overview())

    def dataset(self, query: dict[str, list[str]]) -> None:
        name = _one(query, "name")
        assert name is not None
        if not name:
            raise UiError(400, "missing_parameter", "the query parameter 'name' is empty")
        self._json(200, self.server.view.dataset(name))

    def dead_letters(self, query: dict[str, list[str]]) -> None:
        self._json(200, {"dead_letters": [d.model_dump(mode="json")
                                          for d in self.server.view.dead_letters()]})

    def redrive(self, query: dict[str, list[str]]) -> None:
        body = self._json_body()
        try:
            req = RedriveRequest.model_validate_json(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise UiError(400, "invalid_request", f"{where}: {first['msg']}; send "
                          '{"delivery_ids": ["<id>", ...]}') from None
        self._json(200, self.server.view.redrive(req.delivery_ids))

    def ask(self, query: dict[str, list[str]]) -> None:
        result = self.server.view.ask(self._json_body())
        if result.status != 200:  # the inference function's own error answer, as it gave it
            self._json(result.status, result.answer)
        else:
            self._json(200, result)

    def upload(self, query: dict[str, list[str]]) -> None:
        filename = _one(query, "filename")
        assert filename is not None
        name = _one(query, "name", required=False)
        training = (_one(query, "training", required=False) or "0") in ("1", "true")
        spec = {key.removeprefix("spec_"): values[-1] for key, values in query.items()
                if key.startswith("spec_")}
        length = self._length()
        self._json(201, self.server.view.upload(filename, name, training, self.rfile, length,
                                                spec))

    def job_defaults(self, query: dict[str, list[str]]) -> None:
        self._json(200, self.server.view.job_defaults())

    def decision(self, query: dict[str, list[str]]) -> None:
        try:
            req = DecisionRequest.model_validate_json(self._json_body())
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise UiError(400, "invalid_request", f"{where}: {first['msg']}; send "
                          '{"dataset": "<name>", "decision": "approve" or "reject"}') from None
        self._json(200, self.server.view.decide(req.dataset, req.decision))


ROUTES: dict[str, dict[str, Route]] = {
    "/": {"GET": _Handler.page},
    **{f"/static/{name}": {"GET": _Handler.static} for name in STATIC},
    "/api/overview": {"GET": _Handler.overview},
    "/api/dataset": {"GET": _Handler.dataset},
    "/api/deadletters": {"GET": _Handler.dead_letters},
    "/api/redrive": {"POST": _Handler.redrive},
    "/api/ask": {"POST": _Handler.ask},
    "/api/upload": {"POST": _Handler.upload},
    "/api/jobdefaults": {"GET": _Handler.job_defaults},
    "/api/decision": {"POST": _Handler.decision},
}


class UiServer(FrontDoor):
    """The page's server on 127.0.0.1; ``start()`` serves in a thread, ``stop()`` ends it.

    ``follower`` (the local target) gives each request the view of the target running now.
    """

    def __init__(self, view: PipelineView, port: int = 0, token: str | None = None,
                 follower: TargetFollower | None = None, limits: Limits | None = None) -> None:
        super().__init__(("127.0.0.1", port), _Handler, limits or Limits(workers=16),
                         _error_body, name="ocift-ui")
        self.view = view
        self.follower = follower
        self.port = int(self.server_address[1])
        self.guard = Guard(self.port, token)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def login_url(self) -> str:
        """The one-time login link (``ocift ui`` prints it)."""
        return f"{self.url}login?token={self.guard.login_token}"

    def start(self) -> UiServer:
        self._thread = threading.Thread(target=self.serve_forever, name="ocift-ui", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None


def view_for(conn: Connection, args: argparse.Namespace) -> PipelineView:
    """The :class:`PipelineView` of the CLI's connection (the local target's state dir)."""
    state_dir: Path | None = None
    if conn.local:
        from deploy.local.info import read_info

        state_dir = Path(read_info(args.state_dir or DEFAULT_STATE_DIR).state_dir)
    return PipelineView(conn, state_dir)


def serve(conn: Connection, args: argparse.Namespace) -> int:
    """``ocift ui``: serve until Ctrl-C."""
    follower = None
    if conn.local:
        from shared.cli.connection import connect

        follower = TargetFollower(Path(args.state_dir or DEFAULT_STATE_DIR),
                                  lambda: view_for(connect(args), args))
    server = UiServer(view_for(conn, args), port=args.port, follower=follower)
    print(f"ocift ui: {server.login_url}  ({server.view.label}; open this link once, in "
          "your browser; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
