"""The front door's handlers send an answer's head and body in one write."""

from __future__ import annotations

from deploy.local.frontdoor import FrontDoorHandler
from tests.support.convert import Sink


def _handler(version: str = "HTTP/1.1") -> tuple[FrontDoorHandler, Sink]:
    handler = FrontDoorHandler.__new__(FrontDoorHandler)  # no socket: only the writing side
    handler.request_version = version
    handler.requestline = f"POST /infer {version}"
    handler.command = "POST"
    handler.server = object()  # type: ignore[assignment]  # no error_body: the default one
    handler.client_address = ("127.0.0.1", 40000)
    recorder = Sink()
    handler.wfile = recorder  # type: ignore[assignment]
    return handler, recorder


def test_head_and_body_go_out_in_one_write_and_the_buffer_is_emptied() -> None:
    handler, recorder = _handler()
    handler.send_response_only(200)
    handler.send_header("Content-Length", "2")
    handler.end_headers_with(b"{}")
    assert len(recorder.parts) == 1
    head, _, body = recorder.parts[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"Content-Length: 2")
    assert body == b"{}"
    handler.send_response_only(204)  # the next answer on the connection starts afresh
    handler.end_headers_with(b"")
    assert recorder.parts[1] == b"HTTP/1.1 204 No Content\r\n\r\n"


def test_an_error_answer_is_one_write_too() -> None:
    handler, recorder = _handler()
    handler.send_error(400, "bad header")
    assert len(recorder.parts) == 1
    head, _, body = recorder.parts[0].partition(b"\r\n\r\n")
    assert b"400" in head.split(b"\r\n")[0] and b"Connection: close" in head
    assert body.startswith(b"{") and int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0]) \
        == len(body)
