"""The per-dataset status object ``status/<dataset>.json``: the pipeline's own record.

Written by the train stage when it creates a model, by the watcher when a
model, cluster or endpoint changes state (or reconcile finds work undone), and
by the endpoint stage. Writes are conditional on the ETag read, so concurrent
writers never lose an update. A status write wakes no function: when the next
step belongs to a stage, the watcher writes that stage's hand-off object
(:mod:`shared.handoff`), which exactly one events rule routes to exactly one
function.

The record is strict (unknown keys and wrong types are refused, on read and on
write), and a dataset moves only along :data:`TRANSITIONS`: from-state ->
allowed to-states, with the fields each move into a state requires and clears
(:data:`ENTRY`), declared once here. A move outside the table raises
:class:`IllegalTransition`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.jobspec import EffectiveSpec
from shared.plan import Plan

SCHEMA_VERSION = 1


class DatasetState(StrEnum):
    QUEUED = "QUEUED"  # reconcile found undone work; handed off to the owning stage
    AWAITING_APPROVAL = "AWAITING_APPROVAL"  # valid, with its plan; nothing created (issue 24)
    REJECTED = "REJECTED"  # the dataset can never train (see reason); terminal
    PENDING_CLUSTER = "PENDING_CLUSTER"  # waiting for the fine-tuning cluster to become ACTIVE
    TRAINING = "TRAINING"  # custom model is being created (fine-tuned)
    MODEL_ACTIVE = "MODEL_ACTIVE"  # fine-tuned; the endpoint stage acts on this
    MODEL_FAILED = "MODEL_FAILED"  # training failed (reason from lifecycle_details); terminal
    PENDING_HOSTING_CLUSTER = "PENDING_HOSTING_CLUSTER"  # waiting for the hosting cluster
    ENDPOINT_CREATING = "ENDPOINT_CREATING"
    ENDPOINT_ACTIVE = "ENDPOINT_ACTIVE"  # serving; terminal
    ENDPOINT_FAILED = "ENDPOINT_FAILED"  # terminal


TERMINAL_STATES = frozenset(
    {DatasetState.REJECTED, DatasetState.MODEL_FAILED, DatasetState.ENDPOINT_ACTIVE,
     DatasetState.ENDPOINT_FAILED}
)


#: Every record the pipeline keeps in the bucket refuses unknown keys (a typo is an error,
#: never dropped) and, read back from JSON, values of the wrong type.
RECORD = ConfigDict(extra="forbid", validate_assignment=True)


def utcnow() -> datetime:
    return datetime.now(UTC)


class StatusEvent(BaseModel):
    """One line of the dataset's history."""

    model_config = RECORD

    time: datetime = Field(default_factory=utcnow)
    state: DatasetState
    detail: str = ""


class DuplicateOf(BaseModel):
    """An upload whose JSONL is byte-identical to what the current model was trained on."""

    model_config = RECORD

    model_id: str
    model_version: str | None = None
    source_object: str
    source_etag: str
    content_sha256: str
    time: datetime = Field(default_factory=utcnow)


class ClusterRelease(BaseModel):
    """A pipeline cluster the endpoint stage should delete once nothing uses it.

    Recorded by the watcher (a fine-tuning cluster after the last training on it; an idle
    cluster with ``OCIFT_DELETE_IDLE_CLUSTERS=true``) or by the endpoint stage (the
    hosting cluster of a retired endpoint's model). ``wait_for`` lists endpoints that must
    be gone first; the watcher sets ``ready`` when they are, and that write is the event
    that brings the endpoint stage back to delete it.
    """

    model_config = RECORD

    cluster_id: str
    reason: str
    wait_for: list[str] = Field(default_factory=list)
    ready: bool = False


class IdleCluster(BaseModel):
    """A pipeline cluster with no endpoint and no training for longer than the idle limit."""

    model_config = RECORD

    cluster_id: str
    kind: str
    shape: str | None = None
    units: int | None = None
    idle_since: datetime


class DatasetStatus(BaseModel):
    """Everything the pipeline knows about one dataset's journey."""

    model_config = RECORD

    schema_version: int = SCHEMA_VERSION
    dataset: str
    state: DatasetState
    reason: str = ""
    source_object: str | None = None
    source_etag: str | None = None
    base_model: str | None = None
    base_model_id: str | None = None
    base_model_warning: str | None = None  # deprecated base model: its retirement date (issue 23)
    training_method: str | None = None
    finetuning_cluster_id: str | None = None
    cluster_state: str | None = None  # last seen state of the cluster a PENDING_* waits for
    model_id: str | None = None
    model_version: str | None = None
    model_state: str | None = None
    model_metrics: dict[str, Any] | None = None
    work_request_id: str | None = None
    percent_complete: float | None = None
    hosting_cluster_id: str | None = None
    endpoint_id: str | None = None
    endpoint_state: str | None = None
    notified_at: datetime | None = None  # when a failure was published to OCI Notifications
    content_sha256: str | None = None  # SHA-256 of the JSONL the model was trained on
    duplicate_of: DuplicateOf | None = None  # the last upload was identical: not retrained
    releases: list[ClusterRelease] = Field(default_factory=list)  # clusters to delete
    retired_for_endpoint: str | None = None  # superseded endpoints retired for this one
    idle_clusters: list[IdleCluster] = Field(default_factory=list)  # reported by the watcher
    spec: EffectiveSpec | None = None  # the job this version trains with (issue 24)
    plan: Plan | None = None  # what it creates and commits to (AWAITING_APPROVAL shows it)
    #: MODEL_ACTIVE with no endpoint because its endpoint was deleted (``ocift down``, the
    #: Console): why. Nothing re-creates one until ``ocift serve`` (issue 27).
    unserved: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    history: list[StatusEvent] = Field(default_factory=list)

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def settled(self) -> bool:
        """Terminal, and no release waits for an endpoint to go: the watcher can stop looking
        (a ready release is the endpoint stage's; reconcile hands it back if it was missed)."""
        return self.terminal and all(r.ready for r in self.releases)

    def moved_to(self, state: DatasetState, detail: str = "", **changes: Any) -> DatasetStatus:
        """A copy in ``state`` with ``changes`` applied and a history line appended.

        The move must be in :data:`TRANSITIONS`; entering a new state clears the fields
        :data:`ENTRY` lists for it and requires the ones it names. Unknown fields and
        values of the wrong type raise (:class:`IllegalTransition`).
        """
        if state not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"{self.dataset}: {self.state.value} -> {state.value} is "
                                    "not an allowed transition (shared/status.py TRANSITIONS)")
        unknown = sorted(set(changes) - set(DatasetStatus.model_fields) - {"state"})
        if unknown or "history" in changes or "dataset" in changes:
            raise IllegalTransition(f"unknown or protected status field(s): "
                                    f"{', '.join(unknown or ['history/dataset'])}")
        now = utcnow()
        data: dict[str, Any] = dict(self.__dict__)
        entry = ENTRY.get(state)
        if entry is not None and state is not self.state:
            data.update({f: DatasetStatus.model_fields[f].get_default(call_default_factory=True)
                         for f in entry.clears})
        data.update(changes)
        data.update(state=state, updated_at=now)
        if state is not self.state or detail:
            data["history"] = [*self.history, StatusEvent(time=now, state=state, detail=detail)]
        if entry is not None and state is not self.state:
            missing = [f for f in entry.requires if not data.get(f)]
            if missing:
                raise IllegalTransition(f"{self.dataset}: {state.value} needs "
                                        f"{', '.join(missing)}")
        try:
            return DatasetStatus.model_validate(data, strict=True)
        except ValidationError as exc:
            raise IllegalTransition(f"{self.dataset}: bad status change: {exc}") from exc

    @classmethod
    def started(cls, dataset: str, state: DatasetState, detail: str = "",
                **changes: Any) -> DatasetStatus:
        """A dataset's first status (no record yet): moved from the empty record to ``state``."""
        if state not in INITIAL:
            raise IllegalTransition(f"{dataset}: a first status cannot be {state.value}")
        empty = cls(dataset=dataset, state=state)
        return empty.moved_to(state, detail or "created", **changes)


class IllegalTransition(ValueError):
    """A status change outside the transition table, or with unknown or mistyped fields."""


class Entry(BaseModel):
    """What entering a state needs (``requires``: set and non-empty) and clears."""

    model_config = ConfigDict(frozen=True)

    requires: tuple[str, ...] = ()
    clears: tuple[str, ...] = ()


S = DatasetState
_NEW_VERSION = ("model_id", "model_version", "model_state", "work_request_id",
                "percent_complete", "model_metrics", "endpoint_id", "endpoint_state",
                "hosting_cluster_id", "cluster_state", "unserved")

#: Entering a state: what it needs and what no longer holds (declared once; every writer
#: relies on this instead of listing fields by hand).
ENTRY: dict[DatasetState, Entry] = {
    S.QUEUED: Entry(requires=("source_object", "source_etag"),
                    clears=("reason", *_NEW_VERSION)),
    S.REJECTED: Entry(requires=("reason",), clears=_NEW_VERSION),
    S.AWAITING_APPROVAL: Entry(requires=("source_object", "source_etag", "plan"),
                               clears=("reason", *_NEW_VERSION)),
    S.PENDING_CLUSTER: Entry(requires=("finetuning_cluster_id",),
                             clears=("reason", *_NEW_VERSION)),
    S.TRAINING: Entry(requires=("model_id",),
                      clears=("reason", "endpoint_id", "endpoint_state", "hosting_cluster_id",
                              "model_metrics", "cluster_state", "unserved")),
    # Entered from an endpoint state only when the endpoint is gone (issue 27): no endpoint.
    S.MODEL_ACTIVE: Entry(requires=("model_id",),
                          clears=("reason", "endpoint_id", "endpoint_state", "hosting_cluster_id",
                                  "cluster_state")),
    S.MODEL_FAILED: Entry(requires=("reason",)),
    S.PENDING_HOSTING_CLUSTER: Entry(requires=("model_id", "hosting_cluster_id")),
    S.ENDPOINT_CREATING: Entry(requires=("model_id", "endpoint_id"), clears=("cluster_state",)),
    S.ENDPOINT_ACTIVE: Entry(requires=("model_id", "endpoint_id")),
    S.ENDPOINT_FAILED: Entry(requires=("reason",)),
}

#: A new version of the dataset's input (a re-upload, a queued object) may start over from
#: any state: it is queued, refused, or trained.
_RESTART = frozenset({S.QUEUED, S.REJECTED, S.AWAITING_APPROVAL, S.PENDING_CLUSTER,
                      S.TRAINING})
#: A model rebuilt from its tags (reconcile, a duplicate upload) may be in any model state.
_REBUILT = frozenset({S.TRAINING, S.MODEL_ACTIVE, S.MODEL_FAILED})

#: From-state -> the states it may move to (itself included: a change of detail).
TRANSITIONS: dict[DatasetState, frozenset[DatasetState]] = {
    S.QUEUED: _RESTART | _REBUILT,
    S.REJECTED: _RESTART | _REBUILT,
    S.AWAITING_APPROVAL: _RESTART | _REBUILT,
    S.PENDING_CLUSTER: _RESTART | _REBUILT,
    S.TRAINING: _RESTART | _REBUILT,
    S.MODEL_ACTIVE: _RESTART | {S.MODEL_ACTIVE, S.PENDING_HOSTING_CLUSTER,
                                S.ENDPOINT_CREATING, S.ENDPOINT_FAILED},
    S.MODEL_FAILED: _RESTART | {S.MODEL_FAILED},
    S.PENDING_HOSTING_CLUSTER: _RESTART | {S.PENDING_HOSTING_CLUSTER, S.ENDPOINT_CREATING,
                                           S.ENDPOINT_FAILED, S.MODEL_ACTIVE},
    S.ENDPOINT_CREATING: _RESTART | {S.ENDPOINT_CREATING, S.ENDPOINT_ACTIVE,
                                     S.ENDPOINT_FAILED, S.MODEL_ACTIVE},
    # -> MODEL_ACTIVE: the endpoint was deleted and the model is still there (issue 27).
    S.ENDPOINT_ACTIVE: _RESTART | {S.ENDPOINT_ACTIVE, S.ENDPOINT_FAILED, S.MODEL_ACTIVE},
    S.ENDPOINT_FAILED: _RESTART | {S.ENDPOINT_FAILED, S.MODEL_ACTIVE},
}

#: States a dataset's first status object may hold.
INITIAL = _RESTART | _REBUILT

#: The model's lifecycle state -> the dataset state it means (rebuilding from tags, watching).
MODEL_STATE_TO_DATASET: dict[str, DatasetState] = {
    "CREATING": S.TRAINING,
    "ACTIVE": S.MODEL_ACTIVE,
    "FAILED": S.MODEL_FAILED,
}
