"""Service errors with OCI's status codes and error codes."""

from __future__ import annotations


class GenAiError(Exception):
    """An API error rendered as OCI's ``{"code", "message"}`` body with ``status``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def not_found() -> GenAiError:
    """404 as OCI answers for a missing resource or a missing permission alike."""
    return GenAiError(
        404, "NotAuthorizedOrNotFound",
        "Authorization failed or requested resource not found.")


def invalid_parameter(message: str) -> GenAiError:
    """400 InvalidParameter."""
    return GenAiError(400, "InvalidParameter", message)


def incorrect_state(message: str) -> GenAiError:
    """409 IncorrectState: the resource is not in a state that allows the request."""
    return GenAiError(409, "IncorrectState", message)


def conflict(message: str) -> GenAiError:
    """409 Conflict."""
    return GenAiError(409, "Conflict", message)
