"""What one function call looks like to stage code, and what an HTTP stage answers.

A leaf module: the stages import it, never :mod:`shared.runtime` (which runs them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.settings import Settings, Stage

JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class HttpReply:
    """What an HTTP-invoked stage answers."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON_HEADERS))
    log_fields: dict[str, Any] = field(default_factory=dict)  # for the log line, never sent


@dataclass(frozen=True)
class Invocation:
    """One call of a function, as the stage code sees it."""

    stage: Stage
    settings: Settings
    body: bytes
    method: str | None = None
    request_id: str | None = None
    deadline: float | None = None  # the platform's deadline (epoch seconds), if it gave one
