"""The emulator framework: routes, request bodies, ranges and faults."""

from __future__ import annotations

import io
from typing import BinaryIO, cast

import pytest

from deploy.local.emulator.faults import Faults
from deploy.local.emulator.http import Body, Headers, Request, Response, Route, Router, ServiceError
from deploy.local.emulator.objectstorage.ranges import parse_range


def _ok(req: Request, params: dict[str, str]) -> Response:
    return Response.json(params)


def _router() -> Router:
    router = Router()
    for method, pattern in [("GET", "/n/{ns}/b/{bucket}/o"),
                            ("GET", "/n/{ns}/b/{bucket}/o/{objectName+}"),
                            ("PUT", "/n/{ns}/b/{bucket}/o/{objectName+}"),
                            ("GET", "/20231130/models/{modelId}")]:
        router.add(Route(method, pattern, _ok))
    return router


def test_greedy_tail_matches_encoded_and_literal_slashes() -> None:
    router = _router()
    route, params = router.match("GET", "/n/ns/b/bk/o/dir%2Fsub%20file.json")
    assert route.pattern.endswith("{objectName+}")
    assert params == {"ns": "ns", "bucket": "bk", "objectName": "dir/sub file.json"}
    _, params = router.match("GET", "/n/ns/b/bk/o/dir/sub/x")
    assert params["objectName"] == "dir/sub/x"
    _, params = router.match("GET", "/n/ns/b/bk/o")
    assert params == {"ns": "ns", "bucket": "bk"}


def test_single_segments_do_not_swallow_slashes_and_errors_are_oci_shaped() -> None:
    router = _router()
    with pytest.raises(ServiceError) as missing:
        router.match("GET", "/20231130/models/a/b")
    assert (missing.value.status, missing.value.code) == (404, "NotFound")
    with pytest.raises(ServiceError) as wrong_method:
        router.match("DELETE", "/20231130/models/m1")
    assert (wrong_method.value.status, wrong_method.value.code) == (405, "MethodNotAllowed")


def test_chunked_body_is_decoded_and_stops_at_the_end() -> None:
    wire = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT REQUEST"
    raw = io.BytesIO(wire)
    body = Body(cast(BinaryIO, raw), None, chunked=True)
    assert body.read(3) == b"hel"
    assert body.read() == b"lo world"
    assert body.exhausted and body.read(10) == b""
    assert raw.read() == b"NEXT REQUEST"


def test_length_body_never_reads_past_content_length() -> None:
    raw = io.BytesIO(b"abcdefNEXT")
    body = Body(cast(BinaryIO, raw), 6, chunked=False)
    req = Request("PUT", "/x", {}, Headers([("Content-Length", "6")]), body, "rid")
    with pytest.raises(ServiceError) as too_big:
        req.read_bytes(4)
    assert too_big.value.status == 413
    assert not body.exhausted
    assert body.drain(100) and body.read(1) == b""
    assert raw.read() == b"NEXT"


def test_request_json_and_headers_are_case_insensitive() -> None:
    raw = io.BytesIO(b'{"a": 1}')
    req = Request("POST", "/n/a%20b", {"q": ["1"]}, Headers([("X-Thing", "v")]),
                  Body(cast(BinaryIO, raw), 8, chunked=False), "rid")
    assert req.json() == {"a": 1}
    assert req.headers["x-thing"] == "v" and "X-THING" in req.headers
    assert req.path == "/n/a b" and req.param("q") == "1" and req.param("z") is None
    bad = Request("POST", "/", {}, Headers([]), Body(cast(BinaryIO, io.BytesIO(b"{")), 1, False),
                  "rid")
    with pytest.raises(ServiceError) as err:
        bad.json()
    assert err.value.code == "CannotParseRequest"


@pytest.mark.parametrize(("header", "size", "expected"), [
    (None, 10, None),
    ("bytes=0-3", 10, (0, 3)),
    ("bytes=4-", 10, (4, 9)),
    ("bytes=-3", 10, (7, 9)),
    ("bytes=-30", 10, (0, 9)),
    ("bytes=5-100", 10, (5, 9)),
    ("items=0-3", 10, None),
    ("bytes=0-1,4-5", 10, None),
    ("bytes=5-2", 10, None),
])
def test_range_forms(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=10-", 10), ("bytes=-0", 10),
                                              ("bytes=0-", 0)])
def test_unsatisfiable_ranges_are_416(header: str, size: int) -> None:
    with pytest.raises(ServiceError) as err:
        parse_range(header, size)
    assert err.value.status == 416
    assert err.value.headers["Content-Range"] == f"bytes */{size}"


def test_faults_are_deterministic_per_seed_and_adjustable() -> None:
    def run(faults: Faults) -> list[int | None]:
        return [faults.draw()[1] for _ in range(200)]

    first = run(Faults(rate_429=0.2, rate_500=0.1, seed=7))
    again = run(Faults(rate_429=0.2, rate_500=0.1, seed=7))
    assert first == again
    assert {429, 500, None} == set(first)
    assert 20 < first.count(429) < 60 and 5 < first.count(500) < 40
    faults = Faults(rate_429=1.0, latency_ms=5)
    assert faults.draw() == (0.005, 429)
    faults.update(rate_429=0.0)
    assert faults.draw() == (0.005, None)
    with pytest.raises(ValueError):
        faults.update(rate_500=2.0)
