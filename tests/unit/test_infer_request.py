"""Unit tests: the request model, body parsing and error mapping of POST /infer."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from oci._vendor.requests.exceptions import ConnectionError as RequestsConnectionError
from oci._vendor.requests.exceptions import ReadTimeout
from oci.exceptions import ServiceError
from pydantic import ValidationError

from shared.infer import errors
from shared.infer.errors import InferError, from_upstream
from shared.infer.models import InferRequest, Likelihoods, Role
from shared.settings import Settings
from shared.stages.infer import parse_request

SETTINGS = Settings(max_request_bytes=2048)


def _parse(body: object) -> InferRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_request(raw, SETTINGS)


def _error(body: object) -> InferError:
    with pytest.raises(InferError) as info:
        _parse(body)
    return info.value


def test_prompt_with_every_playground_parameter() -> None:
    req = _parse({"prompt": "What is an ETF?", "model": "fin", "max_tokens": 200,
                  "temperature": 0.3, "top_p": 0.9, "top_k": 40, "frequency_penalty": 0.1,
                  "presence_penalty": 0.2, "stop_sequences": ["\n\n"],
                  "return_likelihoods": "GENERATION"})
    assert req.question == "What is an ETF?"
    assert req.return_likelihoods is Likelihoods.GENERATION
    assert req.wants_likelihoods


def test_messages_use_last_user_message_as_question() -> None:
    req = _parse({"messages": [{"role": "system", "content": "be brief"},
                               {"role": "user", "content": "first"},
                               {"role": "assistant", "content": "ok"},
                               {"role": "user", "content": "second"}]})
    assert req.question == "second"
    assert req.messages is not None and req.messages[0].role is Role.SYSTEM


@pytest.mark.parametrize(("body", "field"), [
    ({"prompt": "x", "temperature": 7}, "temperature"),
    ({"prompt": "x", "max_tokens": 0}, "max_tokens"),
    ({"prompt": "x", "max_tokens": 4001}, "max_tokens"),
    ({"prompt": "x", "top_p": 1.5}, "top_p"),
    ({"prompt": "x", "top_k": 501}, "top_k"),
    ({"prompt": "x", "frequency_penalty": 3}, "frequency_penalty"),
    ({"prompt": "x", "stop_sequences": ["a", "b", "c", "d", "e", "f"]}, "stop_sequences"),
    ({"prompt": "x", "return_likelihoods": "SOME"}, "return_likelihoods"),
    ({"prompt": "x", "surprise": 1}, "surprise"),
    ({"prompt": ""}, "prompt"),
    ({"prompt": "x", "endpoint_id": "not-an-ocid"}, "endpoint_id"),
])
def test_invalid_fields_are_named(body: dict[str, object], field: str) -> None:
    err = _error(body)
    assert (err.status, err.code) == (400, errors.INVALID_REQUEST)
    assert field in err.message


def test_prompt_and_messages_together_refused() -> None:
    err = _error({"prompt": "x", "messages": [{"role": "user", "content": "y"}]})
    assert err.code == errors.INVALID_REQUEST and "exactly one" in err.message


def test_model_and_endpoint_together_refused() -> None:
    err = _error({"prompt": "x", "model": "a", "endpoint_id": "ocid1.generativeaiendpoint.oc1.x"})
    assert err.code == errors.INVALID_REQUEST and "at most one" in err.message


def test_last_message_must_be_user() -> None:
    with pytest.raises(ValidationError):
        InferRequest(messages=[{"role": "assistant", "content": "hi"}])  # type: ignore[list-item]


@pytest.mark.parametrize("body", [b"{not json", b"", b"   "])
def test_invalid_json(body: bytes) -> None:
    err = _error(body)
    assert (err.status, err.code) == (400, errors.INVALID_JSON)


@pytest.mark.parametrize("body", [
    {"eventType": "com.oraclecloud.objectstorage.createobject", "cloudEventsVersion": "0.1",
     "data": {"resourceName": "raw/x.json"}, "prompt": "sneaky"},
    {"specversion": "1.0", "type": "x", "prompt": "x"},
    {"source": "ocift.schedule", "kind": "watch-tick"},
    ["prompt"],
    "prompt",
])
def test_events_and_other_bodies_are_not_inference_requests(body: object) -> None:
    err = _error(body)
    assert (err.status, err.code) == (400, errors.NOT_AN_INFERENCE_REQUEST)


def test_body_too_large() -> None:
    err = _error({"prompt": "x" * 4096})
    assert (err.status, err.code) == (413, errors.BODY_TOO_LARGE)
    assert "2048" in err.message


def test_error_body_shape() -> None:
    body = json.loads(InferError(404, "unknown_model", "nope").body())
    assert body == {"error": {"code": "unknown_model", "message": "nope"}}


def _service_error(status: int, code: str, message: str = "m",
                   headers: dict[str, str] | None = None) -> ServiceError:
    return ServiceError(status, code, headers or {}, message)


def test_upstream_429_keeps_retry_after() -> None:
    err = from_upstream(_service_error(429, "TooManyRequests", headers={"Retry-After": "7"}))
    assert (err.status, err.code, err.headers) == (429, errors.THROTTLED, {"Retry-After": "7"})


def test_upstream_429_without_header_defaults_retry_after() -> None:
    assert from_upstream(_service_error(429, "TooManyRequests")).headers["Retry-After"] == "1"


@pytest.mark.parametrize(("exc", "status", "code"), [
    (_service_error(404, "NotAuthorizedOrNotFound"), 404, errors.UNKNOWN_ENDPOINT),
    (_service_error(409, "IncorrectState"), 409, errors.ENDPOINT_NOT_READY),
    (_service_error(400, "InvalidParameter", "too many tokens"), 400, errors.UPSTREAM_REJECTED),
    (_service_error(500, "InternalServerError", "secret stack"), 502, errors.UPSTREAM_ERROR),
    (_service_error(503, "ServiceUnavailable"), 502, errors.UPSTREAM_ERROR),
    (_service_error(401, "NotAuthenticated", "key abc"), 502, errors.UPSTREAM_ERROR),
    (_service_error(504, "GatewayTimeout"), 504, errors.UPSTREAM_TIMEOUT),
    (ReadTimeout("read timed out after 50s on host x"), 504, errors.UPSTREAM_TIMEOUT),
    (RequestsConnectionError("refused 10.0.0.1"), 502, errors.UPSTREAM_ERROR),
    (RuntimeError("internal detail"), 502, errors.UPSTREAM_ERROR),
])
def test_upstream_mapping(exc: BaseException, status: int, code: str) -> None:
    err = from_upstream(exc)
    assert (err.status, err.code) == (status, code)
    if status != 400:  # only the caller's own input problem is passed through
        for leak in ("secret", "key abc", "10.0.0.1", "internal detail", "host x"):
            assert leak not in err.message


def test_upstream_400_message_is_passed_on() -> None:
    err = from_upstream(_service_error(400, "InvalidParameter", "The input has 9000 tokens"))
    assert "9000 tokens" in err.message


def test_object_without_status_is_not_service_error() -> None:
    assert from_upstream(SimpleNamespace(status=500)).code == errors.UPSTREAM_ERROR  # type: ignore[arg-type]
