"""Hand-off objects: one object write wakes exactly the one stage that owns the next step.

``handoff/<stage>/<dataset>.json`` is written by the watcher (a cluster became ACTIVE,
training ended, a release is ready, reconcile found work no event carried) and routed
by one events rule (``events/<stage>-handoff.json``) to one function. The status object
stays the record: the stage reads it and acts on the state it finds there; the hand-off
says why it was woken and which status version did it. A status write itself wakes no
function.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from shared import naming
from shared.records import parse_record, write_record
from shared.settings import Settings, Stage
from shared.status import RECORD, DatasetState, utcnow
from shared.storage import ObjectStore

SCHEMA_VERSION = 1

#: The stages a hand-off can wake (the event-driven ones).
HANDOFF_STAGES: tuple[Stage, ...] = (Stage.CONVERT, Stage.TRAIN, Stage.ENDPOINT,
                                      Stage.EVALUATE)


class HandOff(BaseModel):
    """Why a stage is woken: the dataset, the state it is to act on, and who said so."""

    model_config = RECORD

    schema_version: int = SCHEMA_VERSION
    dataset: str
    stage: Stage
    state: DatasetState
    reason: str
    status_etag: str | None = None
    time: datetime = Field(default_factory=utcnow)

    @field_validator("stage")
    @classmethod
    def _woken_by_handoffs(cls, stage: Stage) -> Stage:
        if stage not in HANDOFF_STAGES:
            raise ValueError(f"stage {stage.value} is not woken by hand-offs")
        return stage


def hand_off(store: ObjectStore, settings: Settings, stage: Stage, dataset: str,
             state: DatasetState, reason: str, status_etag: str | None) -> str:
    """Write ``stage``'s hand-off for ``dataset`` (overwriting the last one); its ETag."""
    record = HandOff(dataset=dataset, stage=stage, state=state, reason=reason,
                     status_etag=status_etag)
    return write_record(store, naming.handoff_object(settings, stage.value, dataset), record)


def parse_handoff(name: str, etag: str, content: bytes) -> HandOff:
    """The hand-off at ``name`` (:class:`~shared.records.MalformedRecord` when it is not one)."""
    return parse_record(HandOff, name, etag, content)
