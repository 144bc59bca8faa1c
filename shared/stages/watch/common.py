"""What the watcher's jobs share: listing, reading a status in isolation, saving, handing off."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from shared import caches, logs, naming
from shared.lifecycle import Lifecycle
from shared.records import MalformedRecord, quarantine
from shared.settings import Stage
from shared.stages.context import StageContext, StatusRead, hand_to, read_status, write_status
from shared.status import DatasetState, DatasetStatus

log = logs.get_logger("ocift.watch")

WATCH = Stage.WATCH.value


class TickReport(BaseModel):
    """What one tick saw and did; ``calls`` counts OCI API calls by operation."""

    in_flight: int = 0
    deferred: int = 0  # in-flight datasets left to the next tick: the call's time ran out
    changed: list[str] = Field(default_factory=list)
    resumed: list[str] = Field(default_factory=list)
    quarantined: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    calls: dict[str, int] = Field(default_factory=dict)

    @property
    def genai_calls(self) -> int:
        return sum(n for op, n in self.calls.items() if op.startswith("genai."))


def listed(ctx: StageContext, prefix: str) -> Iterator[tuple[str, str]]:
    """``(name, etag)`` of every object under ``prefix`` (one listing call per 1000)."""
    for name, etag, _ in listed_with_time(ctx, prefix, fields="name,etag"):
        yield name, etag


def listed_with_time(ctx: StageContext, prefix: str, fields: str = "name,etag,timeModified",
                     ) -> Iterator[tuple[str, str, datetime | None]]:
    """``(name, etag, time modified)`` of every object under ``prefix``."""
    start: str | None = None
    while True:
        kwargs: dict[str, Any] = {"prefix": prefix, "fields": fields, "limit": 1000}
        if start:
            kwargs["start"] = start
        resp = ctx.store.client.list_objects(ctx.store.namespace, ctx.store.bucket, **kwargs)
        for obj in resp.data.objects:
            yield (obj.name, getattr(obj, "etag", None) or "",
                   getattr(obj, "time_modified", None))
        start = resp.data.next_start_with
        if not start:
            return


def settling(ctx: StageContext, modified: datetime | None) -> bool:
    """True for an object written less than ``OCIFT_RECONCILE_GRACE_SECONDS`` ago: its own
    event is most likely still on its way, so reconcile leaves it to that event."""
    grace = ctx.settings.reconcile_grace_seconds
    if not grace or modified is None:
        return False
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=UTC)
    return (datetime.now(UTC) - modified).total_seconds() < grace


def status_objects(ctx: StageContext) -> Iterator[tuple[str, str]]:
    """``(name, etag)`` of every status object."""
    return listed(ctx, ctx.settings.status_prefix)


def read_isolated(ctx: StageContext, dataset: str,
                  quarantined: list[str] | None = None) -> StatusRead | MalformedRecord | None:
    """The dataset's status; a malformed one is quarantined (once) and returned as such."""
    try:
        return read_status(ctx, dataset)
    except MalformedRecord as bad:
        if quarantine(ctx.store, ctx.settings, bad, WATCH) and quarantined is not None:
            quarantined.append(bad.name)
        return bad


def statuses(ctx: StageContext,
             quarantined: list[str] | None = None) -> dict[str, StatusRead]:
    """Every dataset's readable status (malformed ones quarantined and left out)."""
    found: dict[str, StatusRead] = {}
    for name, _ in list(status_objects(ctx)):
        dataset = naming.status_dataset(ctx.settings, name)
        current = read_isolated(ctx, dataset, quarantined) if dataset else None
        if dataset and isinstance(current, tuple):
            found[dataset] = current
    return found


def owner_of(ctx: StageContext, status: DatasetStatus) -> Stage | None:
    """The stage that owns ``status``'s next step (None: the watcher's own, or nobody's)."""
    s = ctx.settings
    if any(r.ready for r in status.releases):
        return Stage.ENDPOINT  # it deletes released clusters
    if status.state is DatasetState.QUEUED:
        if naming.raw_dataset(s, status.source_object or "") == status.dataset:
            return Stage.CONVERT
        if naming.training_dataset(s, status.source_object or "") == status.dataset:
            return Stage.TRAIN
        return None
    if status.state is DatasetState.PENDING_CLUSTER:
        return Stage.TRAIN if status.cluster_state in HANDED_CLUSTER_STATES else None
    if status.state is DatasetState.PENDING_HOSTING_CLUSTER:
        return Stage.ENDPOINT if status.cluster_state in HANDED_CLUSTER_STATES else None
    if status.state is DatasetState.MODEL_ACTIVE and status.unserved:
        return None  # its endpoint was deleted on purpose: only `ocift serve` hosts it again
    if status.state in (DatasetState.MODEL_ACTIVE, DatasetState.MODEL_FAILED,
                        DatasetState.ENDPOINT_ACTIVE):
        return Stage.ENDPOINT  # host it, record the failure, retire what it supersedes
    return None


#: Cluster states the owner of a PENDING_* dataset acts on: create on it, or replace it.
HANDED_CLUSTER_STATES = frozenset({Lifecycle.ACTIVE.value, Lifecycle.FAILED.value,
                                   Lifecycle.DELETED.value, Lifecycle.DELETING.value})


def save(ctx: StageContext, status: DatasetStatus, etag: str | None, report: TickReport,
         *, hand_over: bool = True, also: tuple[Stage, ...] = ()) -> bool:
    """Write ``status`` (conditionally) and, when a stage owns its next step, hand it over
    (and to the stages in ``also``: evaluate, when a version's endpoint became ACTIVE).

    A hand-off that fails after its status was written is owed (:func:`pay_owed`): the
    next tick writes it again while the status is still that version, so a lost hand-off
    costs one tick, not a reconcile interval.
    """
    new_etag = write_status(ctx, status, etag)
    if new_etag is None:
        return False
    report.changed.append(f"{status.dataset}: {status.state.value}")
    owner = owner_of(ctx, status) if hand_over else None
    _hand_over(ctx, status, new_etag, ((owner,) if owner is not None else ()) + also, report,
               f"watch: {status.state.value}")
    return True


#: Hand-offs whose status was written but whose own write failed: (bucket, dataset) ->
#: (the stages still owed, status ETag). Kept by a warm watch process; reconcile repairs
#: what a cold one lost.
_owed: dict[tuple[str, str], tuple[tuple[Stage, ...], str]] = {}


def _hand_over(ctx: StageContext, status: DatasetStatus, etag: str, stages: tuple[Stage, ...],
               report: TickReport, reason: str) -> None:
    """Hand ``status`` to each of ``stages`` in turn; what is not written stays owed."""
    if not stages:
        return
    key = (ctx.store.bucket, status.dataset)
    for i, stage in enumerate(stages):
        _owed[key] = (stages[i:], etag)
        hand_to(ctx, stage, status, etag, reason)
        report.resumed.append(f"{status.dataset}: {stage.value}")
    _owed.pop(key, None)


def pay_owed(ctx: StageContext, status: DatasetStatus, etag: str, report: TickReport) -> None:
    """Write the hand-offs owed for this status version, if any; forget a stale debt."""
    key = (ctx.store.bucket, status.dataset)
    owed = _owed.get(key)
    if owed is None:
        return
    stages, owed_etag = owed
    if owed_etag != etag:  # the status moved on: its new version carries its own hand-offs
        _owed.pop(key, None)
        return
    _hand_over(ctx, status, etag, stages, report,
               f"watch: {status.state.value} (hand-off retried)")


def _forget_owed() -> None:
    _owed.clear()


caches.register("watch-owed-handoffs", _forget_owed)
