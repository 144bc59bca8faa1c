"""The one error type the page's routes answer with: status, stable code, what to do."""

from __future__ import annotations

import json

from shared.errors import classify, oci_answer


class UiError(Exception):
    """An answer ``{"error": {"code", "message"}}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> bytes:
        return json.dumps({"error": {"code": self.code, "message": self.message}}).encode()


def from_oci(exc: BaseException, what: str) -> UiError:
    """A 502 naming the OCI call that failed (status, code, message; nothing else)."""
    answer = oci_answer(exc)
    if answer is None:  # no answer at all; the SDK's connection-pool text says nothing more
        return UiError(502, "upstream_unreachable", f"{what}: the service did not answer "
                       f"({type(exc).__name__}); check that it runs and try again")
    return UiError(502, "upstream_error", f"{what}: OCI answered {answer.status} "
                                          f"{answer.code} ({classify(exc)}): {answer.message}")
