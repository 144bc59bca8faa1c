"""The one error policy: what every failure means to the stages, watcher, CLI and web page.

:func:`classify` answers one :class:`ErrorKind` for any exception; :func:`describe`
gives the one short reason recorded or shown for it. Nothing else reads an exception's
``status`` / ``code``: a caller that needs the raw answer uses :func:`oci_answer`.

What each OCI answer means, from Oracle's "API Errors" page (common errors of all
services, with their "Retry" column):
https://docs.oracle.com/iaas/Content/API/References/apierrors.htm

============================================  ==============  ==================================
Answer                                        Kind            Why
============================================  ==============  ==================================
400 (any code: InvalidParameter,              PERMANENT       "Retry: No"; the request itself
LimitExceeded, QuotaExceeded, ...)                            is wrong: recorded, not retried
401 NotAuthenticated, 402/403 (NotAllowed,    MISCONFIGURED   credentials, region or grant:
NotAuthorized, SignUpRequired)                                kept until an operator fixes it
404 NotAuthorizedOrNotFound (and Object       MISCONFIGURED   "not found, or you do not have
Storage's BucketNotFound, ObjectNotFound,                     authorization": never read as
NamespaceNotFound), 404 NotFound                              "deleted" on its own (see GONE)
404 InvalidParameter                          PERMANENT       a path component is invalid
405, 411, 413, 414, 422, 431                  PERMANENT       the request's shape is refused
409 Conflict, InvalidatedRetryToken           PERMANENT       "not transient", "Retry: No"
409 NotAuthorizedOrResourceAlreadyExists,     MISCONFIGURED   a grant, or a lock an operator
ResourceLocked                                                placed
409 IncorrectState,                           TRANSIENT       "Retry: Yes, with backoff": the
ExternalServerIncorrectState                                  state will change
409 IfNoneMatchFailed, 412 NoEtagMatch        TRANSIENT       a conditional write lost a race:
                                                              re-read and decide again
429 TooManyRequests, 500, 502, 503, 504,      TRANSIENT       "Retry: Yes, with backoff"
any other 409/4xx/5xx, network errors
501 MethodNotImplemented                      MISCONFIGURED   not offered in this region
client-side encoding (``UnicodeError``)       PERMANENT       no retry can encode it
:class:`PermanentError` (our own refusal)     PERMANENT       input that can never succeed
:class:`ConfigurationError`                   MISCONFIGURED   names the grant or setting
============================================  ==============  ==================================

**GONE needs confirmation.** OCI answers 404 NotAuthorizedOrNotFound both for "does
not exist" and for "may not see it", so a 404 alone is MISCONFIGURED. A caller passes
``confirmed_gone=True`` only when it holds proof the resource is deleted: the pipeline
itself deleted that id, or a listing the caller may make shows it DELETED or not at
all. Only then is a 404 GONE.

What the kinds do (``runtime.invoke``): PERMANENT is recorded (status object or report)
and answered 200 ``rejected``; MISCONFIGURED is answered 502 with the reason, so the
platform keeps (and finally dead-letters) the event until an operator redrives it;
TRANSIENT propagates after the SDK's own retries and the event is redelivered; GONE is
the caller's to act on (a failure recorded, a release completed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class ErrorKind(StrEnum):
    """What a failure means for the work that met it."""

    PERMANENT = "permanent"
    MISCONFIGURED = "misconfigured"
    TRANSIENT = "transient"
    GONE = "gone"


class ConfigurationError(Exception):
    """A grant or setting is missing; the message names it. Kept for redelivery."""


class PermanentError(Exception):
    """Our own refusal: input or configuration that can never succeed; recorded, not retried."""


@dataclass(frozen=True)
class OciAnswer:
    """The parts of an OCI error answer the policy and the messages use."""

    status: int
    code: str
    message: str
    operation: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """A response header, case-insensitively."""
        wanted = name.lower()
        return next((str(v) for k, v in self.headers.items() if str(k).lower() == wanted), None)


def oci_answer(exc: BaseException) -> OciAnswer | None:
    """The OCI answer ``exc`` carries (an ``oci`` ``ServiceError`` or alike), else None."""
    status = getattr(exc, "status", None)
    if not isinstance(status, int) or isinstance(status, bool) or not hasattr(exc, "code"):
        return None
    raw_headers = getattr(exc, "headers", None)
    try:
        headers = {str(k): str(v) for k, v in dict(raw_headers or {}).items()}
    except (TypeError, ValueError):
        headers = {}
    return OciAnswer(status=status, code=str(getattr(exc, "code", "") or ""),
                     message=str(getattr(exc, "message", "") or ""),
                     operation=str(getattr(exc, "operation_name", "") or ""), headers=headers)


#: (status, code) pairs whose kind differs from their status' default below.
_BY_CODE: dict[tuple[int, str], ErrorKind] = {
    (404, "InvalidParameter"): ErrorKind.PERMANENT,
    (409, "Conflict"): ErrorKind.PERMANENT,
    (409, "InvalidatedRetryToken"): ErrorKind.PERMANENT,
    (409, "NotAuthorizedOrResourceAlreadyExists"): ErrorKind.MISCONFIGURED,
    (409, "ResourceLocked"): ErrorKind.MISCONFIGURED,
}

#: Each status' kind when its code is not in :data:`_BY_CODE`; any other is TRANSIENT.
_BY_STATUS: dict[int, ErrorKind] = {
    400: ErrorKind.PERMANENT,
    401: ErrorKind.MISCONFIGURED,
    402: ErrorKind.MISCONFIGURED,
    403: ErrorKind.MISCONFIGURED,
    404: ErrorKind.MISCONFIGURED,
    405: ErrorKind.PERMANENT,
    411: ErrorKind.PERMANENT,
    413: ErrorKind.PERMANENT,
    414: ErrorKind.PERMANENT,
    422: ErrorKind.PERMANENT,
    431: ErrorKind.PERMANENT,
    501: ErrorKind.MISCONFIGURED,
}


def classify(exc: BaseException, *, confirmed_gone: bool = False) -> ErrorKind:
    """The kind of ``exc`` (see the module docstring for the table).

    ``confirmed_gone``: the caller knows the resource the call named is deleted (the
    pipeline deleted it, or a listing shows it deleted or absent); only then is a 404 GONE.
    """
    if isinstance(exc, PermanentError | UnicodeError):
        return ErrorKind.PERMANENT
    if isinstance(exc, ConfigurationError):
        return ErrorKind.MISCONFIGURED
    answer = oci_answer(exc)
    if answer is None:
        return ErrorKind.TRANSIENT
    kind = _BY_CODE.get((answer.status, answer.code)) or _BY_STATUS.get(answer.status)
    if answer.status == 404 and kind is ErrorKind.MISCONFIGURED and confirmed_gone:
        return ErrorKind.GONE
    return kind or ErrorKind.TRANSIENT


def not_found(exc: BaseException) -> bool:
    """A 404: the thing is absent *or not visible*; what that proves is :func:`classify`'s.

    For the Object Storage layer, which reads a 404 on the pipeline's own objects as
    "absent" (the stages hold read grants on their prefixes, deploy/iam).
    """
    answer = oci_answer(exc)
    return answer is not None and answer.status == 404


def precondition_failed(exc: BaseException) -> bool:
    """A conditional Object Storage request lost: 412 (If-Match) or 409 (If-None-Match)."""
    answer = oci_answer(exc)
    return answer is not None and answer.status in (409, 412)


def incorrect_state(exc: BaseException) -> bool:
    """409 IncorrectState: the resource is busy (e.g. already deleting); it will change."""
    answer = oci_answer(exc)
    return answer is not None and (answer.status, answer.code) == (409, "IncorrectState")


def describe(exc: BaseException) -> str:
    """A short reason (operation, status, code, message; never a request body or credentials)."""
    answer = oci_answer(exc)
    if answer is None:
        if isinstance(exc, PermanentError | ConfigurationError):
            return str(exc)
        return f"{type(exc).__name__}: {exc}"
    message = answer.message or str(exc)
    return f"{answer.operation or 'request'} failed: {answer.status} {answer.code}: {message}"
