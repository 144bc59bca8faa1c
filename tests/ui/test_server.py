"""The page's HTTP server without a browser: the write token and origin checks, escaping,
and every route's error answers, against a real emulator bucket."""

from __future__ import annotations

import http.client
import json
import socket
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from deploy.local.emulator import Emulator
from deploy.local.router import DeliveryRecord
from shared import clients
from shared.cli.connection import Connection
from shared.settings import AuthMode, Settings
from shared.ui.server import UiServer
from shared.ui.view import PipelineView
from tests.support.wait import wait_until

BUCKET = "ui-server-tests"
MARKUP = "<script>alert(1)</script>"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def code(self) -> str:
        return str(self.body["error"]["code"])


def _settings(emu: Emulator, **extra: Any) -> Settings:
    return Settings(bucket=BUCKET, namespace=emu.namespace, compartment_id=emu.compartment_id,
                    auth=AuthMode.CONFIG_FILE, oci_config_file=str(emu.config_file),
                    oci_profile=emu.profile, objectstorage_endpoint=emu.endpoint,
                    genai_endpoint=emu.endpoint, genai_inference_endpoint=emu.endpoint,
                    **extra)


def _dead_letter(state_dir: Path, delivery_id: str, object_name: str) -> None:
    journal = state_dir / "router" / "deadletter.jsonl"
    journal.parent.mkdir(parents=True, exist_ok=True)
    record = DeliveryRecord(delivery_id=delivery_id, event_id="ev-1", resource_name=object_name,
                            rule="convert-raw", function="convert", attempts=5,
                            last_error="DeliveryFailed: function convert answered 502",
                            finished_at="2026-01-01T00:00:00.000+00:00",
                            event={"eventType": "com.oraclecloud.objectstorage.createobject",
                                   "data": {"resourceName": object_name}})
    with journal.open("a", encoding="utf-8") as sink:
        sink.write(record.model_dump_json(exclude_none=True) + "\n")


def _server(view: PipelineView) -> UiServer:
    return UiServer(view).start()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def server(shared_emulator: Emulator, state_dir: Path) -> Iterator[UiServer]:
    shared_emulator.objectstorage.ensure_bucket(shared_emulator.namespace, BUCKET,
                                                shared_emulator.compartment_id)
    clients.reset_clients()
    view = PipelineView(Connection(_settings(shared_emulator), None, local=True), state_dir,
                        max_upload_bytes=64 * 1024)
    srv = _server(view)
    try:
        yield srv
    finally:
        srv.stop()
        clients.reset_clients()


_SESSIONS: weakref.WeakKeyDictionary[UiServer, str] = weakref.WeakKeyDictionary()


def login(srv: UiServer) -> str:
    """Open the server's one-time login link; the ``Cookie`` header of its session."""
    if srv not in _SESSIONS:
        reply = call(srv, "GET", f"/login?token={srv.guard.login_token}", session=False)
        assert reply.status == 303 and reply.headers["Location"] == "/", reply
        _SESSIONS[srv] = reply.headers["Set-Cookie"].split(";", 1)[0]
    return _SESSIONS[srv]


def call(srv: UiServer, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None, token: bool = True,
         json_body: Any = None, session: bool = True) -> Reply:
    sent = dict(headers or {})
    if session:
        sent.setdefault("Cookie", login(srv))
    if json_body is not None:
        body = json.dumps(json_body).encode()
        sent.setdefault("Content-Type", "application/json")
    if token and method == "POST":
        sent.setdefault("X-Ocift-Token", srv.guard.token)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=sent)
        resp = conn.getresponse()
        raw = resp.read()
        found = {k: v for k, v in resp.getheaders()}
    finally:
        conn.close()
    ctype = found.get("Content-Type", "")
    return Reply(resp.status, found, json.loads(raw) if ctype.startswith("application/json")
                 else raw.decode())


def _object(emu: Emulator, name: str) -> bytes | None:
    try:
        _, stream = emu.objectstorage.open_object(emu.namespace, BUCKET, name)
    except Exception:
        return None
    with stream:
        data: bytes = stream.read()
    return data


# -- the page and its token ------------------------------------------------------------------


def test_the_page_carries_a_fresh_token_and_a_strict_policy(server: UiServer,
                                                            shared_emulator: Emulator) -> None:
    page = call(server, "GET", "/")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert f'<meta name="ocift-token" content="{server.guard.token}">' in page.body
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    other = UiServer(server.view).start()
    try:
        assert other.guard.token != server.guard.token
    finally:
        other.stop()
    script = call(server, "GET", "/static/app.js")
    assert script.status == 200 and "textContent" in script.body
    assert "innerHTML" not in script.body  # dataset strings only ever become text nodes
    assert str(shared_emulator.config_file) not in page.body + script.body


def _wrong(token: str) -> str:
    """``token`` with its last character changed (never equal to it)."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize("path", ["/api/ask", "/api/upload?filename=x.json",
                                  "/api/redrive"])
def test_writes_without_the_token_are_refused(server: UiServer, shared_emulator: Emulator,
                                              state_dir: Path, path: str) -> None:
    _dead_letter(state_dir, "d-1", "raw/x.json")
    body = b'{"delivery_ids": ["d-1"]}' if "redrive" in path else b'{"prompt": "hi"}'
    ctype = "application/octet-stream" if "upload" in path else "application/json"
    missing = call(server, "POST", path, body, {"Content-Type": ctype}, token=False)
    wrong = call(server, "POST", path, body, {"Content-Type": ctype,
                                              "X-Ocift-Token": _wrong(server.guard.token)})
    for reply in (missing, wrong):
        assert reply.status == 403 and reply.code == "bad_token", reply
        assert "reload the page" in reply.body["error"]["message"]
    assert _object(shared_emulator, "raw/x.json") is None  # nothing was written
    assert [d.delivery_id for d in server.view.dead_letters()] == ["d-1"]  # nor requeued


def test_cross_site_and_foreign_host_requests_are_refused(server: UiServer) -> None:
    evil_origin = call(server, "POST", "/api/ask", json_body={"prompt": "hi", "model": "m"},
                       headers={"Origin": "http://evil.example"})
    assert evil_origin.status == 403 and evil_origin.code == "cross_origin"
    cross_site = call(server, "GET", "/api/overview", headers={"Sec-Fetch-Site": "cross-site"})
    assert cross_site.status == 403 and cross_site.code == "cross_site"
    rebound = call(server, "GET", "/", headers={"Host": f"evil.example:{server.port}"})
    assert rebound.status == 421 and rebound.code == "wrong_host"
    assert server.guard.token not in json.dumps(rebound.body)
    same = call(server, "GET", "/api/overview",
                headers={"Sec-Fetch-Site": "same-origin", "Host": f"localhost:{server.port}"})
    assert same.status == 200


def test_dataset_strings_travel_as_json_and_never_into_the_html(
        server: UiServer, shared_emulator: Emulator) -> None:
    name = f"raw/{MARKUP}.json"
    shared_emulator.objectstorage.put_object(shared_emulator.namespace, BUCKET, name, b"[]")
    overview = call(server, "GET", "/api/overview")
    assert overview.headers["Content-Type"] == "application/json"
    assert overview.headers["X-Content-Type-Options"] == "nosniff"
    assert MARKUP in [d["dataset"] for d in overview.body["datasets"]]
    assert MARKUP not in call(server, "GET", "/").body
    detail = call(server, "GET", "/api/dataset?name=" + quote(MARKUP))
    assert detail.status == 200 and detail.body["summary"]["dataset"] == MARKUP
    assert detail.body["summary"]["stage"] == "uploaded" and detail.body["summary"]["raw"]


# -- every route's error answers --------------------------------------------------------------


def test_unknown_routes_and_methods(server: UiServer) -> None:
    missing = call(server, "GET", "/api/nothing")
    assert missing.status == 404 and missing.code == "not_found"
    for method, path, allowed in (("GET", "/api/ask", "POST"), ("POST", "/api/overview", "GET"),
                                  ("DELETE", "/api/redrive", "POST"), ("PUT", "/", "GET")):
        reply = call(server, method, path, b"{}")
        assert reply.status == 405 and reply.code == "method_not_allowed", (method, path)
        assert reply.headers["Allow"] == allowed


def test_dataset_route_errors(server: UiServer) -> None:
    no_name = call(server, "GET", "/api/dataset")
    assert no_name.status == 400 and no_name.code == "missing_parameter"
    empty = call(server, "GET", "/api/dataset?name=")
    assert empty.status == 400
    unknown = call(server, "GET", "/api/dataset?name=never-uploaded")
    assert unknown.status == 404 and unknown.code == "unknown_dataset"
    assert "ocift upload" in unknown.body["error"]["message"]


def test_ask_route_errors(server: UiServer) -> None:
    not_json = call(server, "POST", "/api/ask", b"{", {"Content-Type": "application/json"})
    assert not_json.status == 400 and not_json.code == "invalid_json"
    plain = call(server, "POST", "/api/ask", b'{"prompt": "hi"}', {"Content-Type": "text/plain"})
    assert plain.status == 415 and plain.code == "unsupported_media_type"
    hot = call(server, "POST", "/api/ask", json_body={"prompt": "hi", "model": "m",
                                                      "temperature": 9})
    assert hot.status == 400 and "temperature" in hot.body["error"]["message"]
    event = call(server, "POST", "/api/ask", json_body={"eventType": "x", "prompt": "hi"})
    assert event.status == 400 and event.code == "not_an_inference_request"
    huge = call(server, "POST", "/api/ask", b"x" * (300 * 1024),
                {"Content-Type": "application/json"})
    assert huge.status == 413 and huge.code == "body_too_large"
    unknown = call(server, "POST", "/api/ask", json_body={"prompt": "hi", "model": "nope"})
    assert unknown.status == 404 and unknown.code == "unknown_model"  # the function's answer


def test_upload_route_errors_and_success(server: UiServer, shared_emulator: Emulator) -> None:
    octet = {"Content-Type": "application/octet-stream"}
    no_file = call(server, "POST", "/api/upload", b"[]", octet)
    assert no_file.status == 400 and no_file.code == "missing_parameter"
    not_jsonl = call(server, "POST", "/api/upload?filename=a.json&training=1", b"[]", octet)
    assert not_jsonl.status == 400 and ".jsonl" in not_jsonl.body["error"]["message"]
    escaping = call(server, "POST", "/api/upload?filename=a.json&name=../up", b"[]", octet)
    assert escaping.status == 400 and escaping.code == "bad_upload"
    empty = call(server, "POST", "/api/upload?filename=a.json", b"", octet)
    assert empty.status == 400 and empty.code == "empty_upload"
    big = call(server, "POST", "/api/upload?filename=a.json", b"x" * (65 * 1024), octet)
    assert big.status == 413 and big.code == "upload_too_large"
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest("POST", "/api/upload?filename=a.json")
    conn.putheader("X-Ocift-Token", server.guard.token)
    conn.putheader("Cookie", login(server))
    conn.endheaders()
    no_length = conn.getresponse()
    assert no_length.status == 411 and b"length_required" in no_length.read()
    conn.close()
    assert _object(shared_emulator, "raw/a.json") is None
    data = b'[{"instruction": "q", "output": "a"}]'
    done = call(server, "POST", "/api/upload?filename=team%2Fnotes.txt&name=team%2Fnotes",
                data, octet)
    assert done.status == 201, done.body
    assert done.body["object"] == "raw/team/notes.json" and done.body["dataset"] == "team/notes"
    assert _object(shared_emulator, "raw/team/notes.json") == data  # the same bytes


def test_dead_letters_and_redrive(server: UiServer, state_dir: Path) -> None:
    _dead_letter(state_dir, "d-1", "raw/alpha.json")
    _dead_letter(state_dir, "d-2", "status/beta.json")
    listed = call(server, "GET", "/api/deadletters")
    assert [(d["delivery_id"], d["dataset"]) for d in listed.body["dead_letters"]] == [
        ("d-1", "alpha"), ("d-2", "beta")]
    assert call(server, "GET", "/api/overview").body["dead_letters"] == 2
    bad = call(server, "POST", "/api/redrive", json_body={"delivery_ids": []})
    assert bad.status == 400 and "delivery_ids" in bad.body["error"]["message"]
    extra = call(server, "POST", "/api/redrive", json_body={"ids": ["d-1"]})
    assert extra.status == 400
    unknown = call(server, "POST", "/api/redrive", json_body={"delivery_ids": ["zzz"]})
    assert unknown.status == 404 and unknown.code == "unknown_delivery"
    done = call(server, "POST", "/api/redrive", json_body={"delivery_ids": ["d-1", "zzz"]})
    assert done.status == 200 and done.body == {"requeued": ["d-1"], "missing": ["zzz"]}
    assert (state_dir / "router" / "queue" / "d-1.json").exists()  # the router picks it up
    assert [d.delivery_id for d in server.view.dead_letters()] == ["d-2"]


def test_dead_letters_exist_only_on_the_local_target(shared_emulator: Emulator) -> None:
    view = PipelineView(Connection(_settings(shared_emulator), None, local=False))
    srv = _server(view)
    try:
        listed = call(srv, "GET", "/api/deadletters")
        assert listed.status == 404 and listed.code == "not_local"
        redrive = call(srv, "POST", "/api/redrive", json_body={"delivery_ids": ["d-1"]})
        assert redrive.status == 404 and redrive.code == "not_local"
        overview = call(srv, "GET", "/api/overview")
        assert overview.status == 200 and overview.body["dead_letters"] is None
        assert overview.body["target"] == "tenancy (profile DEFAULT)"
    finally:
        srv.stop()


def test_an_unreachable_bucket_is_a_502_that_says_what_failed(tmp_path: Path,
                                                              shared_emulator: Emulator) -> None:
    settings = _settings(shared_emulator, retry_max_attempts=1).model_copy(update={
        "objectstorage_endpoint": "http://127.0.0.1:9", "genai_endpoint": "http://127.0.0.1:9"})
    clients.reset_clients()
    srv = _server(PipelineView(Connection(settings, None, local=False)))
    try:
        reply = call(srv, "GET", "/api/overview")
    finally:
        srv.stop()
        clients.reset_clients()
    assert reply.status == 502 and reply.code in ("upstream_unreachable", "upstream_error")
    assert "reading the pipeline bucket" in reply.body["error"]["message"]
    assert "key" not in reply.body["error"]["message"].lower()


def test_an_unexpected_failure_is_a_500_without_internals(server: UiServer,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(server.view, "overview", boom)
    reply = call(server, "GET", "/api/overview")
    assert reply.status == 500 and reply.code == "internal_error"
    assert "secret" not in json.dumps(reply.body)


# -- the session, and hostile clients ---------------------------------------------------------


def test_no_route_answers_without_the_session(server: UiServer) -> None:
    from shared.ui.server import ROUTES

    paths = [*((p, m) for p, methods in ROUTES.items() for m in methods),
             ("/api/nothing", "GET"), ("/", "OPTIONS"), ("/", "TRACE")]
    for path, method in paths:
        reply = call(server, method, path, b"{}", {"Content-Type": "application/json"},
                     session=False)
        assert reply.status == 401 and reply.code == "no_session", (method, path)
        assert server.guard.token not in json.dumps(reply.body)
    forged = call(server, "GET", "/", headers={"Cookie": f"{server.guard.cookie}=guessed"},
                  session=False)
    assert forged.status == 401
    assert call(server, "GET", "/").status == 200  # with the session it answers


def test_the_login_token_works_once_and_sets_a_strict_cookie(server: UiServer) -> None:
    token = server.guard.login_token
    assert token and token != server.guard.token
    assert server.login_url.endswith(f"/login?token={token}")
    wrong = call(server, "GET", f"/login?token={_wrong(token)}", session=False)
    assert wrong.status == 403 and wrong.code == "bad_login"
    first = call(server, "GET", f"/login?token={token}", session=False)
    assert first.status == 303 and first.headers["Location"] == "/"
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith(f"{server.guard.cookie}=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    again = call(server, "GET", f"/login?token={token}", session=False)
    assert again.status == 403 and again.code == "bad_login"
    assert "Set-Cookie" not in again.headers
    session = cookie.split(";", 1)[0]
    page = call(server, "GET", "/", headers={"Cookie": session}, session=False)
    assert page.status == 200 and server.guard.token in page.body


def test_an_upload_that_ocift_upload_refuses_is_refused(server: UiServer,
                                                       shared_emulator: Emulator) -> None:
    octet = {"Content-Type": "application/octet-stream"}
    for data, says in ((b"\x1f\x8b\x08\x00" + b"\x00" * 64, "gzip"),
                       (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "NUL byte"),
                       (b"name,question\nx,y\n", "starts with")):
        reply = call(server, "POST", "/api/upload?filename=bin.json", data, octet)
        assert reply.status == 400 and reply.code == "not_a_dataset", reply
        assert says in reply.body["error"]["message"]
    assert _object(shared_emulator, "raw/bin.json") is None


def _raw(srv: UiServer, data: bytes) -> tuple[int, dict[str, Any]]:
    with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def _count_overviews(server: UiServer, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that gets one entry per overview the server really computes."""
    ran: list[int] = []
    real = server.view.overview

    def counted() -> Any:
        ran.append(1)
        return real()

    monkeypatch.setattr(server.view, "overview", counted)
    return ran


def test_a_head_cut_off_mid_line_is_a_400_not_a_request(server: UiServer,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ran = _count_overviews(server, monkeypatch)
    cut = (f"GET /api/overview HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
           f"Cookie: {login(server)}\r\nAccept: appl").encode()
    status, body = _raw(server, cut)
    assert status == 400 and body["error"]["code"] == "incomplete_request"
    assert ran == []  # the cut-off head was never served as a request
    assert call(server, "GET", "/api/overview").status == 200 and ran == [1]


def test_200_trickling_connections_and_the_page_still_answers(
        server: UiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.trickle import Trickler

    ran = _count_overviews(server, monkeypatch)
    head = f"GET /api/overview HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nX-Slow: ".encode()
    with Trickler(server.port, 200, interval=0.5, duration=20, head=head) as slow:
        assert slow.wait_open(200), slow.open_now
        answered = [call(server, "GET", "/api/overview").status for _ in range(10)]
        assert slow.open_now >= 150
    assert answered == [200] * 10 and ran == [1] * 10


def test_a_browser_that_leaves_mid_answer_is_no_traceback(
        server: UiServer, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    import logging
    import struct
    import time

    def slow_overview() -> dict[str, Any]:
        time.sleep(0.3)
        return {"datasets": ["x" * 64] * 200_000}  # larger than the socket buffers

    monkeypatch.setattr(server.view, "overview", slow_overview)
    caplog.set_level(logging.DEBUG)
    for _ in range(3):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        sock.sendall(f"GET /api/overview HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                     f"Cookie: {login(server)}\r\n\r\n".encode())
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    wait_until(lambda: server.open_connections == 0, "the connections to end", timeout=30,
               interval=0.05)
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert noisy == []
    err = capfd.readouterr().err  # nothing printed past logging either (issue 27)
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_concurrent_overviews_share_one_listing(server: UiServer,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    computed: list[int] = []
    real = server.view._overview_now

    def slow() -> Any:
        computed.append(1)
        time.sleep(0.5)
        return real()

    monkeypatch.setattr(server.view, "_overview_now", slow)
    replies: list[int] = []
    threads = [threading.Thread(target=lambda: replies.append(
        call(server, "GET", "/api/overview").status)) for _ in range(8)]
    login(server)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert replies == [200] * 8
    assert len(computed) < 8  # callers that came while one ran shared it


def test_job_spec_fields_upload_spec_and_decision_route_errors(
        server: UiServer, shared_emulator: Emulator) -> None:
    """Issue 24: the form's defaults, a bad or unknown spec value refused before anything is
    stored, a good one carried as metadata, and the decision route's refusals."""
    defaults = call(server, "GET", "/api/jobdefaults")
    assert defaults.status == 200
    fields = {f["field"]: f for f in defaults.body["fields"]}
    assert fields["epochs"]["default"] == "5" and fields["epochs"]["flag"] == "--epochs"
    assert fields["training_method"]["choices"] == ["auto", "TFEW", "VANILLA", "LORA"]
    assert "1 to 10" in fields["epochs"]["help"] and fields["learning_rate"]["default"] == ""
    octet = {"Content-Type": "application/octet-stream"}
    data = b'[{"instruction": "q", "output": "a"}]'
    bad = call(server, "POST", "/api/upload?filename=s.json&spec_epochs=two", data, octet)
    assert bad.status == 400 and bad.code == "bad_job_spec"
    assert "--epochs='two' is not a whole number" in bad.body["error"]["message"]
    unknown = call(server, "POST", "/api/upload?filename=s.json&spec_epoch=2", data, octet)
    assert unknown.status == 400 and "spec field(s) epoch" in unknown.body["error"]["message"]
    assert _object(shared_emulator, "raw/s.json") is None
    done = call(server, "POST", "/api/upload?filename=s.json&spec_epochs=2&spec_lora_r=",
                data, octet)
    assert done.status == 201, done.body
    head = shared_emulator.objectstorage.head_object(shared_emulator.namespace, BUCKET,
                                                     "raw/s.json")
    assert {k: v for k, v in (head.metadata or {}).items() if "ocift" in k} == {
        "ocift-epochs": "2"}
    for body, code in (({"dataset": "s"}, "invalid_request"),
                       ({"dataset": "s", "decision": "maybe"}, "invalid_request"),
                       ({"dataset": "s", "decision": "approve", "x": 1}, "invalid_request")):
        refused = call(server, "POST", "/api/decision", json_body=body)
        assert (refused.status, refused.code) == (400, code), refused.body
    missing = call(server, "POST", "/api/decision",
                   json_body={"dataset": "no-such", "decision": "approve"})
    assert (missing.status, missing.code) == (404, "unknown_dataset")
    assert call(server, "POST", "/api/decision", json_body={"dataset": "s", "decision":
                "approve"}, token=False).status == 403
    from shared.status import DatasetState, DatasetStatus

    done_status = DatasetStatus.started("s2", DatasetState.REJECTED, reason="too few examples",
                                        source_object="raw/s2.json", source_etag="e")
    shared_emulator.objectstorage.put_object(shared_emulator.namespace, BUCKET, "status/s2.json",
                                             done_status.model_dump_json().encode())
    late = call(server, "POST", "/api/decision", json_body={"dataset": "s2",
                                                             "decision": "approve"})
    assert (late.status, late.code) == (409, "not_awaiting")
    assert "REJECTED, not waiting for approval" in late.body["error"]["message"]
    assert _object(shared_emulator, "approvals/s2.json") is None
