"""What a stage returns: one small, loggable, JSON-serialisable result."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class OutcomeStatus(StrEnum):
    DONE = "done"  # the stage did its work
    DUPLICATE = "duplicate"  # the work was already done (re-delivery); nothing changed
    SKIPPED = "skipped"  # the event is not for this stage (prefix, suffix, state)
    REJECTED = "rejected"  # the input can never succeed; recorded, never retried
    PENDING = "pending"  # waiting on something (a cluster); a later event or tick resumes


class Outcome(BaseModel):
    """Result of one invocation of a stage."""

    status: OutcomeStatus
    stage: str
    reason: str = ""
    object_name: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, stage: str, status: OutcomeStatus, reason: str, object_name: str | None,
           **details: Any) -> Outcome:
        """An outcome whose ``details`` keep only the values that are set."""
        return cls(status=status, stage=stage, reason=reason, object_name=object_name,
                   details={k: v for k, v in details.items() if v is not None})

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)
