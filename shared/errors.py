"""How the stages tell failures apart: never-succeeds, misconfigured, or try again.

* Input OCI refuses for good (400 InvalidParameter, a name over a limit, a value a
  header cannot carry) is recorded with its reason and never retried:
  :func:`is_permanent_request_error`.
* A missing IAM grant or setting is a :class:`ConfigurationError`: the function
  answers 502 with the reason, so the platform keeps (and finally dead-letters) the
  event until an operator fixes the grant and redrives it.
* Everything else (429, 5xx, network, after the SDK's own retries) propagates and
  the event is redelivered.
"""

from __future__ import annotations

#: HTTP statuses of OCI answers that no retry can change (the request itself is wrong).
#: 404 is not here: OCI answers 404 both for "gone" and for "not authorized".
PERMANENT_STATUSES = frozenset({400, 405, 411, 413, 414, 422})


class ConfigurationError(Exception):
    """A grant or setting is missing; the message names it. Kept for redelivery."""


def is_permanent_request_error(exc: BaseException) -> bool:
    """True for an OCI answer (or a client-side encoding failure) no retry can fix."""
    if isinstance(exc, UnicodeError):
        return True
    return getattr(exc, "status", None) in PERMANENT_STATUSES


def describe(exc: BaseException) -> str:
    """A short reason (status, code, message; never a request body or credentials)."""
    status = getattr(exc, "status", None)
    if status is None:
        return f"{type(exc).__name__}: {exc}"
    code = getattr(exc, "code", "")
    message = getattr(exc, "message", "") or str(exc)
    op = getattr(exc, "operation_name", "") or "request"
    return f"{op} failed: {status} {code}: {message}"
