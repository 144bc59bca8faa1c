"""The one error type the page's routes answer with: status, stable code, what to do."""

from __future__ import annotations

import json

from shared.errors import classify, describe, oci_answer


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
    if answer is None:
        return UiError(502, "upstream_unreachable", f"{what}: {describe(exc)}")
    return UiError(502, "upstream_error", f"{what}: OCI answered {answer.status} "
                                          f"{answer.code} ({classify(exc)}): {answer.message}")
