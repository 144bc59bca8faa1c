"""The one error policy (shared/errors.py): every OCI answer the pipeline meets, and what
each stage, the runtime and the messages do with its verdict."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fdk.context import InvokeContext
from oci.exceptions import ConnectTimeout, RequestException, ServiceError

from shared import caches
from shared.errors import (
    ConfigurationError,
    ErrorKind,
    PermanentError,
    classify,
    describe,
    incorrect_state,
    not_found,
    oci_answer,
    precondition_failed,
)
from shared.outcome import Outcome
from shared.runtime import Invocation, invoke
from shared.settings import Stage
from shared.stages.endpoint import ensure_endpoint
from tests.support.fakes import finish_training, make_ctx, service_error

P, M, T = ErrorKind.PERMANENT, ErrorKind.MISCONFIGURED, ErrorKind.TRANSIENT

#: Every (status, code) of Oracle's "API Errors" page the pipeline can meet, plus the
#: Object Storage and unknown ones, with the kind the policy gives it.
TABLE = [
    (400, "CannotParseRequest", P), (400, "InvalidParameter", P), (400, "LimitExceeded", P),
    (400, "MissingParameter", P), (400, "QuotaExceeded", P),
    (400, "RelatedResourceNotAuthorizedOrNotFound", P), (400, "SomethingNew", P),
    (401, "NotAuthenticated", M), (402, "SignUpRequired", M), (403, "NotAllowed", M),
    (403, "NotAuthorized", M), (403, "SignUpRequired", M),
    (404, "InvalidParameter", P), (404, "NotAuthorizedOrNotFound", M), (404, "NotFound", M),
    (404, "NamespaceNotFound", M), (404, "BucketNotFound", M), (404, "ObjectNotFound", M),
    (405, "MethodNotAllowed", P), (411, "LengthRequired", P), (413, "PayloadTooLarge", P),
    (414, "UriTooLong", P), (422, "UnprocessableEntity", P),
    (431, "RequestHeaderFieldsTooLarge", P),
    (409, "Conflict", P), (409, "InvalidatedRetryToken", P),
    (409, "NotAuthorizedOrResourceAlreadyExists", M), (409, "ResourceLocked", M),
    (409, "IncorrectState", T), (409, "ExternalServerIncorrectState", T),
    (409, "IfNoneMatchFailed", T), (409, "SomethingNew", T),
    (412, "NoEtagMatch", T), (412, "IfMatchFailed", T),
    (429, "TooManyRequests", T), (500, "InternalServerError", T), (501, "MethodNotImplemented", M),
    (502, "BadGateway", T), (503, "ServiceUnavailable", T), (504, "GatewayTimeout", T),
    (418, "Teapot", T),
]


@pytest.mark.parametrize(("status", "code", "kind"), TABLE)
def test_each_oci_answer_has_one_kind(status: int, code: str, kind: ErrorKind) -> None:
    assert classify(service_error(status, code)) is kind


@pytest.mark.parametrize(("status", "code", "kind"), TABLE)
def test_only_a_confirmed_404_is_gone(status: int, code: str, kind: ErrorKind) -> None:
    confirmed = classify(service_error(status, code), confirmed_gone=True)
    if status == 404 and kind is M:
        assert confirmed is ErrorKind.GONE
    else:  # confirmation never turns another answer (or a bad path) into "gone"
        assert confirmed is kind


@pytest.mark.parametrize(("exc", "kind"), [
    (PermanentError("base model not fine-tunable"), P),
    (UnicodeEncodeError("latin-1", "財", 0, 1, "no"), P),
    (ConfigurationError("grant 'read objects'"), M),
    (ConnectionError("reset"), T), (TimeoutError(), T),
    (ConnectTimeout(), T), (RequestException(), T), (RuntimeError("a bug"), T),
])
def test_exceptions_without_an_oci_answer(exc: BaseException, kind: ErrorKind) -> None:
    assert classify(exc) is kind
    assert classify(exc, confirmed_gone=True) is kind


def test_the_predicates_read_the_same_answer() -> None:
    assert not_found(service_error(404, "BucketNotFound"))
    assert not not_found(service_error(400, "InvalidParameter")) and not not_found(OSError())
    assert precondition_failed(service_error(412, "NoEtagMatch"))
    assert precondition_failed(service_error(409, "IfNoneMatchFailed"))
    assert not precondition_failed(service_error(429, "TooManyRequests"))
    assert incorrect_state(service_error(409, "IncorrectState"))
    assert not incorrect_state(service_error(409, "Conflict"))
    assert oci_answer(ValueError("x")) is None


def test_describe_names_the_operation_and_answer_and_nothing_more() -> None:
    exc = ServiceError(404, "NotAuthorizedOrNotFound", {"opc-request-id": "r1"}, "not here",
                       operation_name="get_model")
    assert describe(exc) == "get_model failed: 404 NotAuthorizedOrNotFound: not here"
    assert describe(ServiceError(500, "X", {}, "")).startswith("request failed: 500 X:")
    assert describe(PermanentError("dataset is invalid")) == "dataset is invalid"
    assert describe(ConfigurationError("grant it")) == "grant it"
    assert describe(ConnectionError("reset")) == "ConnectionError: reset"
    answer = oci_answer(ServiceError(429, "T", {"Retry-After": "3"}, "m"))
    assert answer is not None and answer.header("retry-after") == "3"


# -- what invoke does with each kind ---------------------------------------------------------


@pytest.fixture
def _convert_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    for key in [k for k in __import__("os").environ if k.startswith("OCIFT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("OCIFT_STAGE", "convert")
    monkeypatch.setenv("OCIFT_BUCKET", "b")
    caches.reset_all()
    yield
    caches.reset_all()


def _invoke(exc: BaseException) -> Any:
    def work(inv: Invocation) -> Outcome:
        raise exc

    ctx = InvokeContext(app_id="a", app_name="ocift", fn_id="f", fn_name="ocift-convert",
                        call_id="01CALL")
    return invoke(ctx, b"{}", Stage.CONVERT, work)


@pytest.mark.parametrize(("status", "code", "kind"), TABLE)
def test_invoke_answers_each_kind_its_way(_convert_env: Any, status: int, code: str,
                                          kind: ErrorKind) -> None:
    exc = service_error(status, code)
    if kind is T:
        with pytest.raises(ServiceError):  # fdk answers 502: the event is redelivered
            _invoke(exc)
        return
    resp = _invoke(exc)
    body = json.loads(resp.body())
    if kind is P:
        assert (resp.status(), body["status"]) == (200, "rejected")
    else:
        assert (resp.status(), body["code"]) == (502, "BadConfiguration")
    assert f"{status} {code}" in body["reason"]


# -- a 404 on a recorded model is "gone" only when the listing agrees ------------------------


def test_a_404_on_a_listed_model_is_a_grant_not_a_deletion() -> None:
    ctx, store, ai = make_ctx()
    model_id = finish_training(ctx, ai, "fin")
    real_get = ai.get_model

    def denied(mid: str) -> Any:
        if mid == model_id:
            raise service_error(404, "NotAuthorizedOrNotFound")
        return real_get(mid)

    ai.get_model = denied  # type: ignore[method-assign,assignment]
    with pytest.raises(ServiceError) as raised:
        ensure_endpoint(ctx, "fin")
    assert classify(raised.value) is M
    assert store.status("fin")["state"] == "MODEL_ACTIVE"  # nothing recorded as failed


def test_a_404_on_a_model_the_listing_lacks_fails_the_endpoint() -> None:
    ctx, store, ai = make_ctx()
    model_id = finish_training(ctx, ai, "fin")
    del ai.models[model_id]
    outcome = ensure_endpoint(ctx, "fin")
    assert outcome.status.value == "rejected" and "no longer exists" in outcome.reason
    assert store.status("fin")["state"] == "ENDPOINT_FAILED"
