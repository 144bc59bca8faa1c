"""Approvals: the user's decision on a dataset waiting with its plan (AWAITING_APPROVAL).

``approvals/<dataset>.json`` is written by the user's principal (``ocift approve`` /
``ocift reject``, the web page's button); one events rule (``events/train-approval.json``)
routes it to the train stage, which may read approvals and may not write them
(``deploy/iam/train.json``). An approval is bound to the content hash and the job
spec digest of the plan it answers: approving v1 never approves a changed v2, which
waits again.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from shared import naming
from shared.records import MalformedRecord, quarantine, read_record, write_record
from shared.settings import Settings
from shared.status import RECORD, DatasetState, DatasetStatus, utcnow
from shared.storage import ObjectStore

SCHEMA_VERSION = 1
REJECTED_BY_USER = "rejected by the user"


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class Approval(BaseModel):
    """The user's decision, bound to the content and spec of the plan it answers."""

    model_config = RECORD

    schema_version: int = SCHEMA_VERSION
    dataset: str
    decision: Decision
    content_sha256: str | None
    spec_sha256: str
    source_etag: str  # the training JSONL version the plan was made for
    time: datetime = Field(default_factory=utcnow)

    def binds(self, content_sha256: str | None, spec_sha256: str) -> bool:
        """True when this decision is about that content with that spec."""
        return (self.content_sha256, self.spec_sha256) == (content_sha256, spec_sha256)


class NotAwaiting(ValueError):
    """The dataset does not wait for a decision; the message says what it is doing."""


def read_approval(store: ObjectStore, settings: Settings, dataset: str,
                  stage: str) -> Approval | None:
    """The dataset's approval, or None (absent, or malformed: quarantined once, not obeyed)."""
    try:
        got = read_record(store, naming.approval_object(settings, dataset), Approval)
    except MalformedRecord as bad:
        quarantine(store, settings, bad, stage)
        return None
    return got[0] if got is not None else None


def decide(store: ObjectStore, settings: Settings, status: DatasetStatus,
           decision: Decision) -> Approval:
    """Write the user's ``decision`` on ``status``'s plan (the caller's principal writes it)."""
    if status.state is not DatasetState.AWAITING_APPROVAL or status.plan is None:
        raise NotAwaiting(f"dataset {status.dataset!r} is {status.state.value}, not waiting for "
                          "approval: nothing to approve or reject (see `ocift status`)")
    record = Approval(dataset=status.dataset, decision=decision,
                      content_sha256=status.plan.content_sha256,
                      spec_sha256=status.plan.spec_sha256, source_etag=status.source_etag or "")
    write_record(store, naming.approval_object(settings, status.dataset), record)
    return record
