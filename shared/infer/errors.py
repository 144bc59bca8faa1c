"""Errors of ``POST /infer``: a stable code, a helpful message, the right HTTP status.

Nothing internal leaks: upstream messages are passed on only for 400s (they
describe the caller's input); everything else gets a fixed sentence.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from shared.errors import oci_answer
from shared.infer.models import ErrorBody, ErrorDetail

# Stable error codes (part of the API).
INVALID_JSON = "invalid_json"
INVALID_REQUEST = "invalid_request"
NOT_AN_INFERENCE_REQUEST = "not_an_inference_request"
METHOD_NOT_ALLOWED = "method_not_allowed"
NO_MODEL = "no_model"
UNKNOWN_MODEL = "unknown_model"
UNKNOWN_ENDPOINT = "unknown_endpoint"
ENDPOINT_NOT_READY = "endpoint_not_ready"
BODY_TOO_LARGE = "body_too_large"
UPSTREAM_REJECTED = "upstream_rejected"
THROTTLED = "throttled"
UPSTREAM_ERROR = "upstream_error"
UPSTREAM_TIMEOUT = "upstream_timeout"
INTERNAL = "internal_error"

_MAX_UPSTREAM_MESSAGE = 500
#: A body with thousands of bad fields gets a short answer naming the first few.
MAX_LISTED_PROBLEMS = 10


class InferError(Exception):
    """An answer other than 200; rendered as ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> str:
        return ErrorBody(error=ErrorDetail(code=self.code, message=self.message)).model_dump_json()


def from_validation(exc: ValidationError) -> InferError:
    """400 naming each offending field and why."""
    found = exc.errors(include_url=False)
    problems = []
    for err in found[:MAX_LISTED_PROBLEMS]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        problems.append(f"{where}: {err['msg']}")
    if len(found) > MAX_LISTED_PROBLEMS:
        problems.append(f"and {len(found) - MAX_LISTED_PROBLEMS} more")
    return InferError(400, INVALID_REQUEST, "invalid request body: " + "; ".join(problems))


def from_upstream(exc: BaseException, what: str = "the model endpoint") -> InferError:
    """Map an ``oci`` / ``requests`` failure of an upstream call to an :class:`InferError`."""
    answer = oci_answer(exc)
    if answer is not None:
        status = answer.status
        if status == 429:
            retry_after = answer.header("retry-after") or "1"
            return InferError(429, THROTTLED,
                              f"{what} is throttling requests; retry after {retry_after} s",
                              {"Retry-After": retry_after})
        if status == 404:
            return InferError(404, UNKNOWN_ENDPOINT, f"{what} was not found (or is not "
                              "visible to this function)")
        if status == 409:
            return InferError(409, ENDPOINT_NOT_READY, f"{what} is not ready to serve "
                              "(not ACTIVE); try again when it is")
        if status == 400:
            message = answer.message[:_MAX_UPSTREAM_MESSAGE]
            return InferError(400, UPSTREAM_REJECTED,
                              f"{what} rejected the request: {message or answer.code}")
        if status in (401, 402, 403):
            return InferError(502, UPSTREAM_ERROR, f"this function is not authorized to call "
                              f"{what}; check its policies")
        if status == 504 or answer.code == "RequestTimeout":
            return InferError(504, UPSTREAM_TIMEOUT, f"{what} timed out")
        return InferError(502, UPSTREAM_ERROR, f"{what} failed (upstream status {status})")
    name = type(exc).__name__
    if "Timeout" in name:
        return InferError(504, UPSTREAM_TIMEOUT, f"{what} did not answer in time")
    if "Connection" in name or isinstance(exc, OSError):
        return InferError(502, UPSTREAM_ERROR, f"{what} could not be reached")
    return InferError(502, UPSTREAM_ERROR, f"calling {what} failed")
