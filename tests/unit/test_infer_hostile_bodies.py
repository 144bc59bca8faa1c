"""Any body sent to ``POST /infer`` is answered 4xx with a JSON error, never 500 (issue 12.5).

A backend whose resolver always says "unknown model" stands in for OCI, so a body
that happens to be a valid request is answered 404 without any network.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.infer import errors
from shared.infer.errors import InferError
from shared.runtime import HttpReply as Reply
from shared.settings import Settings
from shared.stages.infer import Backend, handle_http

SETTINGS = Settings(max_request_bytes=256 * 1024)


class _NoModels:
    def by_model(self, name: str) -> Any:
        raise InferError(404, errors.UNKNOWN_MODEL, "no such model")

    def by_endpoint(self, endpoint_id: str) -> Any:
        raise InferError(404, errors.UNKNOWN_ENDPOINT, "no such endpoint")

    def forget(self, endpoint_id: str) -> None:
        return None


BACKEND = Backend(inference=None, resolver=_NoModels())  # type: ignore[arg-type]


def _ask(body: bytes) -> Reply:
    return handle_http("POST", body, SETTINGS, BACKEND)


def _assert_json_4xx(reply: Reply) -> dict[str, Any]:
    assert 400 <= reply.status < 500, (reply.status, reply.body[:200])
    assert reply.headers["Content-Type"] == "application/json"
    error = json.loads(reply.body)["error"]
    assert error["code"] and error["message"]
    return dict(error)


def test_deeply_nested_array_is_400_invalid_json() -> None:
    reply = _ask(b"[" * 100_000 + b"]" * 100_000)
    error = _assert_json_4xx(reply)
    assert reply.status == 400 and error["code"] == errors.INVALID_JSON
    assert "deeply" in error["message"]


def test_deeply_nested_value_inside_a_request_is_400() -> None:
    depth = 20_000  # 140 KB: under the size limit, far over the recursion limit
    body = b'{"prompt": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"
    reply = _ask(body)
    assert reply.status == 400 and _assert_json_4xx(reply)["code"] == errors.INVALID_JSON


def test_thousands_of_unknown_fields_get_a_short_answer() -> None:
    fields = ",".join(f'"k{i}": 1' for i in range(5000))
    reply = _ask(f'{{"prompt": "x", {fields}}}'.encode())
    error = _assert_json_4xx(reply)
    assert error["code"] == errors.INVALID_REQUEST
    assert "k0" in error["message"] and f"and {5000 - errors.MAX_LISTED_PROBLEMS} more" in \
        error["message"]
    assert len(reply.body) < 2000


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_any_bytes_are_answered_4xx_json(body: bytes) -> None:
    _assert_json_4xx(_ask(body))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=5),
    max_leaves=30)
_REQUEST_KEYS = st.sampled_from(["prompt", "messages", "model", "endpoint_id", "max_tokens",
                                 "temperature", "top_p", "top_k", "stop_sequences",
                                 "return_likelihoods", "eventType", "specversion"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_REQUEST_KEYS, _JSON, max_size=6) | _JSON)
def test_any_json_document_is_answered_4xx_json(doc: Any) -> None:
    _assert_json_4xx(_ask(json.dumps(doc).encode()))
