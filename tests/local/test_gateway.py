"""The local API gateway: routes, size limit, status/headers passthrough."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest

from deploy.local.gateway import Gateway, GatewayRoute
from tests.support.local import FnDefFactory, RunnerFactory, calls


@pytest.fixture
def gateway(runner_factory: RunnerFactory, fn_def: FnDefFactory) -> Iterator[Gateway]:
    runner = runner_factory(fn_def("http_status"), fn_def("echo"), fn_def("crash"),
                            fn_def("slow", timeout=0.5))
    routes = [GatewayRoute(path="/infer", function="http_status"),
              GatewayRoute(path="/echo", function="echo", methods=("POST", "GET")),
              GatewayRoute(path="/crash", function="crash"),
              GatewayRoute(path="/slow", function="slow")]
    with Gateway(runner.invoke, routes, max_body_bytes=1024) as gw:
        yield gw


def _call(gw: Gateway, method: str, path: str, body: bytes = b"",
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_status_headers_and_body_pass_through(gateway: Gateway) -> None:
    for wanted in (200, 201, 400, 422, 503):
        body = json.dumps({"status": wanted, "header": f"h{wanted}"}).encode()
        status, headers, payload = _call(gateway, "POST", "/infer", body,
                                         {"Content-Type": "application/json"})
        assert status == wanted
        assert headers["x-test"] == f"h{wanted}"
        assert headers["content-type"] == "application/json"
        assert json.loads(payload)["echo"]["status"] == wanted


def test_request_headers_method_and_url_reach_function(gateway: Gateway) -> None:
    status, _, payload = _call(gateway, "GET", "/echo?q=1", headers={"X-Caller": "me"})
    assert status == 200
    seen = json.loads(payload)
    assert seen["method"] == "GET" and seen["url"].endswith("/echo?q=1")
    assert seen["http_headers"]["x-caller"] == "me"
    assert seen["headers"]["fn-intent"] == "httprequest"


def test_oversize_body_is_413_before_the_function(gateway: Gateway, fn_dir: object) -> None:
    status, headers, payload = _call(gateway, "POST", "/echo", b"x" * 2048)
    assert status == 413 and headers["content-type"] == "application/json"
    assert json.loads(payload)["error"]["code"] == "body_too_large"
    assert calls(fn_dir, "echo") == 0  # type: ignore[arg-type]
    assert _call(gateway, "POST", "/echo", b"x" * 1024)[0] == 200


def test_unknown_route_and_method(gateway: Gateway) -> None:
    for path in ("/", "/convert", "/train", "/infer/x"):
        status, _, payload = _call(gateway, "POST", path, b"{}")
        assert status == 404 and json.loads(payload)["error"]["code"] == "not_found"
    status, _, payload = _call(gateway, "GET", "/infer")
    assert status == 405 and json.loads(payload)["error"]["code"] == "method_not_allowed"


def test_function_crash_is_502_and_timeout_504(gateway: Gateway) -> None:
    status, _, payload = _call(gateway, "POST", "/crash", b"{}")
    assert status == 502 and json.loads(payload)["error"]["code"] == "bad_gateway"
    assert _call(gateway, "POST", "/crash", b"{}")[0] == 200  # restarted
    status, _, payload = _call(gateway, "POST", "/slow", b"{}")
    assert status == 504 and json.loads(payload)["error"]["code"] == "gateway_timeout"


def test_one_error_shape_and_code_style_with_allow_on_405(gateway: Gateway) -> None:
    """README's shape, the infer function's snake_case codes, Allow on every 405 (issue 27)."""
    from deploy.local.gateway import ERROR_CODES
    from shared.infer import errors as infer_errors

    answers = {(m, p): _call(gateway, m, p, b"") for m, p in (
        ("GET", "/infer"), ("OPTIONS", "/infer"), ("TRACE", "/echo"), ("PUT", "/echo"),
        ("OPTIONS", "*"), ("GET", "/nowhere"))}
    for (method, path), (status, headers, body) in answers.items():
        doc = json.loads(body)
        assert set(doc) == {"error"} and set(doc["error"]) == {"code", "message"}, doc
        code = doc["error"]["code"]
        assert code == code.lower() and " " not in code, (method, path, code)
        assert code == ERROR_CODES[status]
        if status == 405:
            allowed = {m.strip() for m in headers["allow"].split(",")}
            assert allowed == ({"POST"} if path == "/infer" else {"POST", "GET"})
    # The function's own codes share the style (one body shape on /infer).
    assert ERROR_CODES[413] == infer_errors.BODY_TOO_LARGE
    assert ERROR_CODES[405] == infer_errors.METHOD_NOT_ALLOWED
    assert ERROR_CODES[429] == infer_errors.THROTTLED
