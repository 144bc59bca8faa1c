"""The per-dataset status object ``status/<dataset>.json``: the pipeline's own record.

Written by the train stage when it creates a model, by the watcher when a
model, cluster or endpoint changes state (or reconcile finds work undone), and
by the endpoint stage. Because OCI Generative AI emits no events, the watcher's
rewrite of this object *is* the "cluster ready" / "training finished" event:
OCI Events routes every status write to the stages, and each acts only on the
states it owns (convert: QUEUED for a raw object; train: QUEUED for a JSONL and
PENDING_CLUSTER; endpoint: MODEL_ACTIVE, PENDING_HOSTING_CLUSTER, MODEL_FAILED).
The watcher itself creates nothing. Writes are conditional on the ETag read,
so concurrent writers never lose an update.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

SCHEMA_VERSION = 1


class DatasetState(StrEnum):
    QUEUED = "QUEUED"  # reconcile found undone work; the owning stage acts on this write
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


def utcnow() -> datetime:
    return datetime.now(UTC)


class StatusEvent(BaseModel):
    """One line of the dataset's history."""

    time: datetime = Field(default_factory=utcnow)
    state: DatasetState
    detail: str = ""


class DuplicateOf(BaseModel):
    """An upload whose JSONL is byte-identical to what the current model was trained on."""

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

    cluster_id: str
    reason: str
    wait_for: list[str] = Field(default_factory=list)
    ready: bool = False


class IdleCluster(BaseModel):
    """A pipeline cluster with no endpoint and no training for longer than the idle limit."""

    cluster_id: str
    kind: str
    shape: str | None = None
    units: int | None = None
    idle_since: datetime


class DatasetStatus(BaseModel):
    """Everything the pipeline knows about one dataset's journey."""

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
        """A copy in ``state`` with ``changes`` applied and a history line appended."""
        now = utcnow()
        update: dict[str, Any] = {"state": state, "updated_at": now, **changes}
        if state is not self.state or detail:
            update["history"] = [*self.history, StatusEvent(time=now, state=state, detail=detail)]
        return self.model_copy(update=update)
