"""Watcher and reconcile: one code path that moves in-flight datasets on.

OCI Generative AI emits no events, so :func:`tick` polls -- but only what the
pipeline has in flight: it lists the ``status/`` objects and, for each that is
not terminal, makes one state call (work request or model for TRAINING,
cluster for PENDING_*, endpoint for ENDPOINT_CREATING). A change is written
back to the status object with ``If-Match`` (a 412 means someone else moved
it; the next tick re-reads), and that write is the Object Storage event that
reaches the stages. The watcher creates nothing (least privilege: it reads
Generative AI resources and writes status objects only): when a cluster a
dataset waits for changes state it records the change, and that write brings
the owning stage (train or endpoint) back to make the next create.

:func:`reconcile` finishes what lost events left undone: a JSONL with no
model, an ACTIVE model with no endpoint, a missing status object (rebuilt
from the model's tags); then it ticks. :func:`handle` is the watch function's
work: it ticks on any body, and reconciles on ``{"kind": "reconcile"}``, on a
warm process's first call and every :data:`RECONCILE_EVERY_SECONDS` after.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from shared import caches, genai, logs, naming, tags
from shared.errors import ErrorKind, classify, describe
from shared.lifecycle import GONE, REMOVED, WORK_REQUEST_DONE, Lifecycle
from shared.outcome import Outcome, OutcomeStatus
from shared.settings import Settings, Stage
from shared.stages.context import (
    StageContext,
    StatusRead,
    context_for,
    next_status,
    read_status,
    write_status,
)
from shared.stages.train import MODEL_STATE_TO_DATASET, record_model
from shared.status import ClusterRelease, DatasetState, DatasetStatus, IdleCluster

if TYPE_CHECKING:  # the runtime imports the stages, not the other way round
    from shared.runtime import Invocation

log = logs.get_logger("ocift.watch")



class TickReport(BaseModel):
    """What one tick saw and did; ``calls`` counts OCI API calls by operation."""

    in_flight: int = 0
    changed: list[str] = Field(default_factory=list)
    resumed: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    calls: dict[str, int] = Field(default_factory=dict)

    @property
    def genai_calls(self) -> int:
        return sum(n for op, n in self.calls.items() if op.startswith("genai."))


class ReconcileReport(BaseModel):
    actions: list[str] = Field(default_factory=list)
    tick: TickReport = Field(default_factory=TickReport)
    calls: dict[str, int] = Field(default_factory=dict)


def tick(settings: Settings, counter: genai.CallCounter | None = None,
         ctx: StageContext | None = None) -> TickReport:
    """Observe every in-flight dataset once and record what changed."""
    ctx = ctx or context_for(settings, counter=counter or genai.CallCounter())
    start = ctx.counter.snapshot()
    report = TickReport()
    watched: list[tuple[str, DatasetStatus, str]] = []
    for name, listed_etag in list(_status_objects(ctx)):
        dataset = naming.status_dataset(ctx.settings, name)
        key = (ctx.store.bucket, name)
        if dataset is None or (listed_etag and _terminal_seen.get(key) == listed_etag):
            continue
        current = read_status(ctx, dataset)
        if current is None:
            continue
        if current[0].settled:
            _remember_terminal(key, current[1])
            continue
        watched.append((dataset, current[0], current[1]))
    ctx_busy = _Busy.of(watched)
    for dataset, status, etag in watched:
        report.in_flight += 1
        try:
            _observe(ctx, dataset, status, etag, report, ctx_busy)
        except Exception as exc:  # one dataset's transient error never stops the others
            log.warning("watch of dataset failed", extra={"dataset": dataset,
                                                          "error": describe(exc)})
            report.errors.append(f"{dataset}: {type(exc).__name__}")
    end = ctx.counter.snapshot()
    report.calls = {op: n - start.get(op, 0) for op, n in end.items() if n - start.get(op, 0)}
    return report


# Status objects seen terminal, by ETag: a warm watch function lists them
# (name + ETag) but never reads them again until they change.
_terminal_seen: dict[tuple[str, str], str] = {}
_TERMINAL_CACHE_MAX = 100_000


def _remember_terminal(key: tuple[str, str], etag: str) -> None:
    if len(_terminal_seen) >= _TERMINAL_CACHE_MAX:
        _terminal_seen.clear()
    _terminal_seen[key] = etag


def _status_objects(ctx: StageContext) -> Iterator[tuple[str, str]]:
    """``(name, etag)`` of every status object."""
    return _listed(ctx, ctx.settings.status_prefix)


def _listed(ctx: StageContext, prefix: str) -> Iterator[tuple[str, str]]:
    """``(name, etag)`` of every object under ``prefix`` (one listing call per 1000)."""
    start: str | None = None
    while True:
        kwargs: dict[str, Any] = {"prefix": prefix, "fields": "name,etag", "limit": 1000}
        if start:
            kwargs["start"] = start
        resp = ctx.store.client.list_objects(ctx.store.namespace, ctx.store.bucket, **kwargs)
        for obj in resp.data.objects:
            yield obj.name, getattr(obj, "etag", None) or ""
        start = resp.data.next_start_with
        if not start:
            return


class _Busy:
    """Which datasets still need a fine-tuning cluster (queued, waiting or training)."""

    def __init__(self, training: set[str]) -> None:
        self.training = training

    @classmethod
    def of(cls, watched: list[tuple[str, DatasetStatus, str]]) -> _Busy:
        return cls({d for d, st, _ in watched if st.state in (
            DatasetState.QUEUED, DatasetState.PENDING_CLUSTER, DatasetState.TRAINING)})


def _observe(ctx: StageContext, dataset: str, status: DatasetStatus, etag: str,
             report: TickReport, busy: _Busy | None = None) -> None:
    state = status.state
    if status.releases and _observe_releases(ctx, status, etag, report):
        return  # written: the next tick reads the new version
    if state is DatasetState.TRAINING and status.model_id:
        _observe_training(ctx, status, etag, report, busy or _Busy(set()))
    elif state is DatasetState.PENDING_CLUSTER and status.finetuning_cluster_id:
        _observe_cluster(ctx, status, etag, status.finetuning_cluster_id, "train", report)
    elif state is DatasetState.PENDING_HOSTING_CLUSTER and status.hosting_cluster_id:
        _observe_cluster(ctx, status, etag, status.hosting_cluster_id, "endpoint", report)
    elif state is DatasetState.QUEUED:
        _observe_queued(ctx, status, etag, report)
    elif state is DatasetState.ENDPOINT_CREATING and status.endpoint_id:
        endpoint = ctx.genai.get_endpoint(status.endpoint_id).data
        if endpoint.lifecycle_state == Lifecycle.ACTIVE:
            _save(ctx, status.moved_to(DatasetState.ENDPOINT_ACTIVE, "endpoint ACTIVE",
                                       endpoint_state=Lifecycle.ACTIVE.value), etag, report)
        elif endpoint.lifecycle_state in GONE:
            reason = endpoint.lifecycle_details or f"endpoint {endpoint.lifecycle_state}"
            _save(ctx, status.moved_to(DatasetState.ENDPOINT_FAILED, reason, reason=reason,
                                       endpoint_state=endpoint.lifecycle_state), etag, report)
        elif endpoint.lifecycle_state != status.endpoint_state:
            _save(ctx, status.moved_to(state, endpoint_state=endpoint.lifecycle_state), etag,
                  report)
    # MODEL_ACTIVE: the endpoint stage acts on the write that recorded it (reconcile backs it up).


def _observe_cluster(ctx: StageContext, status: DatasetStatus, etag: str, cluster_id: str,
                     owner: str, report: TickReport) -> None:
    """Record a change of the cluster a PENDING_* dataset waits for.

    The write is the hand-over: it reaches ``owner`` (train or endpoint), which
    creates the model or endpoint once the cluster is ACTIVE, or replaces a
    cluster that failed. The watcher itself creates nothing.
    """
    state = ctx.genai.get_dedicated_ai_cluster(cluster_id).data.lifecycle_state
    if state == status.cluster_state:
        return
    if _save(ctx, status.moved_to(status.state, f"cluster {cluster_id} {state}",
                                  cluster_state=state), etag, report):
        report.resumed.append(f"{status.dataset}: {owner}")


def _observe_queued(ctx: StageContext, status: DatasetStatus, etag: str,
                    report: TickReport) -> None:
    """A queued raw object whose report says it can never convert is REJECTED."""
    if naming.raw_dataset(ctx.settings, status.source_object or "") != status.dataset:
        return
    got = ctx.store.read_json(naming.report_object(ctx.settings, status.dataset))
    doc = got[0] if got is not None and isinstance(got[0], dict) else {}
    if doc.get("source_etag") == status.source_etag and doc.get("valid") is False:
        fatal = doc.get("fatal") or {}
        reason = str(fatal.get("message") if isinstance(fatal, dict) else fatal) or "invalid"
        _save(ctx, status.moved_to(DatasetState.REJECTED, reason, reason=reason), etag, report)


def _observe_releases(ctx: StageContext, status: DatasetStatus, etag: str,
                      report: TickReport) -> bool:
    """Mark a release ready once the endpoints it waits for are gone (that write is the
    event that brings the endpoint stage back to delete the cluster)."""
    changed = False
    releases = []
    for release in status.releases:
        if not release.ready and all(_endpoint_gone(ctx, e) for e in release.wait_for):
            release = release.model_copy(update={"ready": True})
            changed = True
        releases.append(release)
    if changed:
        return _save(ctx, status.moved_to(status.state, "cluster release ready",
                                          releases=releases), etag, report)
    return False


def _endpoint_gone(ctx: StageContext, endpoint_id: str) -> bool:
    try:
        state = ctx.genai.get_endpoint(endpoint_id).data.lifecycle_state
    except Exception as exc:
        # The endpoints a release waits for are ones the pipeline itself deleted.
        if classify(exc, confirmed_gone=True) is ErrorKind.GONE:
            return True
        raise
    return bool(state == Lifecycle.DELETED)


def _finetuning_release(ctx: StageContext, status: DatasetStatus,
                        busy: _Busy) -> list[ClusterRelease]:
    """The fine-tuning cluster ``status`` trained on, to delete now that its training ended,
    unless the user configured it or other training is queued, waiting or running."""
    cluster_id = status.finetuning_cluster_id
    if (not cluster_id or cluster_id == ctx.settings.finetuning_cluster_id
            or busy.training - {status.dataset} or _unconverted_work(ctx)
            or any(r.cluster_id == cluster_id for r in status.releases)):
        return list(status.releases)
    return [*status.releases, ClusterRelease(
        cluster_id=cluster_id, ready=True,
        reason="fine-tuning cluster: no training queued or running on it")]


def _unconverted_work(ctx: StageContext) -> bool:
    """True when a raw object has no report yet or a JSONL no status: training may follow."""
    s = ctx.settings
    reports = {n for n, _ in _listed(ctx, s.reports_prefix)}
    for name, _ in _listed(ctx, s.raw_prefix):
        dataset = naming.raw_dataset(s, name)
        if dataset and naming.report_object(s, dataset) not in reports:
            return True
    statuses = {n for n, _ in _listed(ctx, s.status_prefix)}
    for name, _ in _listed(ctx, s.training_prefix):
        dataset = naming.training_dataset(s, name)
        if dataset and naming.status_object(s, dataset) not in statuses:
            return True
    return False


def _observe_training(ctx: StageContext, status: DatasetStatus, etag: str,
                      report: TickReport, busy: _Busy) -> None:
    assert status.model_id is not None
    if status.work_request_id:
        wr = ctx.genai.get_work_request(status.work_request_id).data
        if wr.status not in WORK_REQUEST_DONE:
            pct = float(wr.percent_complete or 0.0)
            if pct != status.percent_complete:
                _save(ctx, status.moved_to(DatasetState.TRAINING, percent_complete=pct),
                      etag, report)
            return
    model = ctx.genai.get_model(status.model_id).data
    new_state = MODEL_STATE_TO_DATASET.get(model.lifecycle_state)
    if model.lifecycle_state in REMOVED:
        new_state = DatasetState.MODEL_FAILED
    if new_state is None or new_state is DatasetState.TRAINING:
        return
    changes: dict[str, Any] = {"model_state": model.lifecycle_state}
    if new_state is DatasetState.MODEL_ACTIVE:
        changes["percent_complete"] = 100.0
        changes["model_metrics"] = _metrics(model)
        detail = "model ACTIVE"
    else:
        changes["reason"] = model.lifecycle_details or f"model {model.lifecycle_state}"
        detail = changes["reason"]
    changes["releases"] = _finetuning_release(ctx, status, busy)
    _save(ctx, status.moved_to(new_state, detail, **changes), etag, report)


def _metrics(model: Any) -> dict[str, Any] | None:
    """OCI's metrics, plus the local stand-in's baseline and similarity floor."""
    from shared.metrics import recorded

    return recorded(model)


def _save(ctx: StageContext, status: DatasetStatus, etag: str | None,
          report: TickReport) -> bool:
    if write_status(ctx, status, etag) is None:
        return False
    report.changed.append(f"{status.dataset}: {status.state.value}")
    return True


def reconcile(settings: Settings, counter: genai.CallCounter | None = None) -> ReconcileReport:
    """Hand every piece of work no event carried back to the stage that owns it, then tick.

    The watcher creates nothing: it writes status objects, and each write reaches
    the stages (``events/*-status-change.json``), which act on the states they own.

    1. a pipeline model with no status object -> the status rebuilt from its tags;
    2. a raw object with no report for its current ETag -> QUEUED for convert;
    3. a JSONL whose status does not describe its current ETag -> QUEUED for train;
    4. any other status waiting on a stage (QUEUED, MODEL_ACTIVE, PENDING_* whose cluster is
       ACTIVE) -> written again, so the stage sees it once more.

    A dataset busy with another version (training, creating an endpoint) is left
    alone: its newer upload is queued once it settles.
    """
    ctx = context_for(settings, counter=counter or genai.CallCounter())
    s = ctx.settings
    report = ReconcileReport()
    latest: dict[str, Any] = {}
    for item in genai.list_all(ctx.genai.list_models, s.compartment_id):
        item_tags = item.freeform_tags or {}
        dataset = item_tags.get(tags.DATASET)
        if (not dataset or item.lifecycle_state in REMOVED or tags.is_shortened(dataset)
                or not tags.matches(item_tags, pipeline=s.pipeline_name, role=tags.ROLE_MODEL)):
            continue
        if dataset not in latest or genai.version_of(item) > genai.version_of(latest[dataset]):
            latest[dataset] = item
    for dataset, model in sorted(latest.items()):
        if read_status(ctx, dataset) is None:
            record_model(ctx, dataset, model, None, work_request_id=None)
            report.actions.append(f"{dataset}: status rebuilt")
    queued: set[str] = set()
    for name, etag in list(_listed(ctx, s.raw_prefix)):
        dataset = naming.raw_dataset(s, name)
        if dataset is None:
            continue
        got = ctx.store.read_json(naming.report_object(s, dataset))
        doc = got[0] if got is not None and isinstance(got[0], dict) else {}
        if doc.get("source_etag") == etag or doc.get("source_object") not in (None, name):
            continue  # converted (or rejected) already, or another raw object owns the name
        if _queue(ctx, dataset, read_status(ctx, dataset), name, etag, "convert", report):
            queued.add(dataset)
    for name, etag in list(_listed(ctx, s.training_prefix)):
        dataset = naming.training_dataset(s, name)
        current = read_status(ctx, dataset) if dataset else None
        if dataset is None or (current is not None and current[0].source_etag == etag
                               and current[0].state is not DatasetState.QUEUED):
            continue
        if _queue(ctx, dataset, current, name, etag, "train", report):
            queued.add(dataset)
    for name, _ in list(_listed(ctx, s.status_prefix)):
        dataset = naming.status_dataset(s, name)
        current = read_status(ctx, dataset) if dataset else None
        if current is None or not _waits_on_a_stage(current[0]) or dataset in queued:
            continue  # nothing to hand back, or just queued (that write was the hand-over)
        status, etag = current
        if write_status(ctx, status.moved_to(status.state, "reconcile: handed back"), etag):
            report.actions.append(f"{status.dataset}: {status.state.value} handed back")
    report.actions.extend(sweep_clusters(ctx))
    report.tick = tick(s, ctx=ctx)
    report.calls = ctx.counter.snapshot()
    return report


def sweep_clusters(ctx: StageContext, now: datetime | None = None) -> list[str]:
    """Record idle pipeline clusters in the statuses of the datasets that used them.

    A cluster with no live endpoint and no training for ``OCIFT_IDLE_CLUSTER_HOURS`` is
    listed in those statuses (``idle_clusters``; ``ocift status`` shows it) and, with
    ``OCIFT_DELETE_IDLE_CLUSTERS=true``, handed to the endpoint stage as a ready release.
    A fine-tuning cluster the pipeline made is handed over as soon as no training is
    queued, waiting or running (whatever the idle setting). Clusters the user configured
    are never touched. The watcher itself deletes nothing.
    """
    from shared import billing, retire

    s = ctx.settings
    now = now or datetime.now(UTC)
    inv = billing.read_inventory(ctx.genai, s)
    statuses: dict[str, tuple[DatasetStatus, str]] = {}
    for name, _ in list(_status_objects(ctx)):
        dataset = naming.status_dataset(s, name)
        current = read_status(ctx, dataset) if dataset else None
        if dataset and current is not None:
            statuses[dataset] = current
    training = any(st.state in (DatasetState.QUEUED, DatasetState.PENDING_CLUSTER,
                                DatasetState.TRAINING) for st, _ in statuses.values())
    queued = training or _unconverted_work(ctx)
    idle: dict[str, list[IdleCluster]] = {}
    release: dict[str, list[ClusterRelease]] = {}
    for cluster in inv.clusters:
        if (cluster.lifecycle_state != Lifecycle.ACTIVE
                or cluster.id in retire.user_clusters(s)):
            continue
        since = billing.idle_since(inv, cluster)
        users = sorted(billing.last_users(inv, cluster.id) & set(statuses))
        if since is None or not users:
            continue
        owner = users[-1]
        finetuning = cluster.type == genai.FINE_TUNING
        if finetuning and not queued:
            release.setdefault(owner, []).append(ClusterRelease(
                cluster_id=cluster.id, ready=True,
                reason="fine-tuning cluster: no training queued or running on it"))
            continue
        if (now - since).total_seconds() < s.idle_cluster_hours * 3600:
            continue
        note = IdleCluster(cluster_id=cluster.id, kind=billing.kind_of(cluster),
                           shape=cluster.unit_shape, units=cluster.unit_count, idle_since=since)
        for dataset in users:
            idle.setdefault(dataset, []).append(note)
        if s.delete_idle_clusters and not finetuning:
            release.setdefault(owner, []).append(ClusterRelease(
                cluster_id=cluster.id, ready=True,
                reason=f"idle since {since:%Y-%m-%d %H:%M} UTC (OCIFT_DELETE_IDLE_CLUSTERS)"))
    actions = []
    for dataset, (status, etag) in sorted(statuses.items()):
        wanted = idle.get(dataset, [])
        have = {r.cluster_id for r in status.releases}
        new_releases = [r for r in release.get(dataset, []) if r.cluster_id not in have]
        if ({c.cluster_id for c in wanted} == {c.cluster_id for c in status.idle_clusters}
                and not new_releases):
            continue
        detail = "; ".join([f"idle cluster {c.cluster_id}" for c in wanted]
                           + [f"release {r.cluster_id}: {r.reason}" for r in new_releases])
        if write_status(ctx, status.moved_to(status.state, detail or "no idle cluster",
                                             idle_clusters=wanted,
                                             releases=[*status.releases, *new_releases]),
                        etag):
            actions.append(f"{dataset}: {detail or 'idle clusters cleared'}")
    return actions


def _waits_on_a_stage(status: DatasetStatus) -> bool:
    if status.state in (DatasetState.QUEUED, DatasetState.MODEL_ACTIVE):
        return True
    if any(r.ready for r in status.releases):
        return True  # the endpoint stage deletes the cluster on this write
    return (status.state in (DatasetState.PENDING_CLUSTER, DatasetState.PENDING_HOSTING_CLUSTER)
            and status.cluster_state == Lifecycle.ACTIVE)


def _queue(ctx: StageContext, dataset: str, current: StatusRead | None, source: str, etag: str,
           owner: str, report: ReconcileReport) -> bool:
    """Record ``source`` (at ``etag``) as QUEUED for ``owner`` unless the dataset is busy.

    ``current`` is the dataset's status as just read; True when the QUEUED write landed.
    """
    if current is not None and not (current[0].terminal
                                    or current[0].state is DatasetState.QUEUED):
        report.actions.append(f"{dataset}: {owner} waits ({current[0].state.value})")
        return False
    new, status_etag = next_status(current, dataset, DatasetState.QUEUED,
                                   f"reconcile: {source} queued for {owner}",
                                   source_object=source, source_etag=etag, reason="",
                                   model_id=None, work_request_id=None, endpoint_id=None,
                                   cluster_state=None)
    if write_status(ctx, new, status_etag) is None:
        return False
    report.actions.append(f"{dataset}: {owner} queued")
    return True


# -- the watch function's work -----------------------------------------------------------------

#: A warm watch function also reconciles on its first call and then this often, so work whose
#: event was lost completes without an operator.
RECONCILE_EVERY_SECONDS = 900.0


class _Schedule:
    """When this process last reconciled (``None``: not yet)."""

    last_reconcile: float | None = None


def reconcile_due(now: float) -> bool:
    """True on this process's first call and every :data:`RECONCILE_EVERY_SECONDS` after."""
    last = _Schedule.last_reconcile
    return last is None or now - last >= RECONCILE_EVERY_SECONDS


def wants_reconcile(body: bytes) -> bool:
    """True when the body asks for a reconcile; anything else (or garbage) is a tick."""
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        return False
    return isinstance(doc, dict) and "reconcile" in (doc.get("kind"), doc.get("action"))


def handle(inv: Invocation) -> Outcome:
    """Tick, or reconcile when asked or due. Any body means "tick" (schedule, alarm, empty)."""
    now = time.monotonic()
    if wants_reconcile(inv.body) or reconcile_due(now):
        _Schedule.last_reconcile = now
        details = reconcile(inv.settings).model_dump()
    else:
        details = tick(inv.settings).model_dump()
    return Outcome.of(Stage.WATCH.value, OutcomeStatus.DONE, "", None, **details)


def _forget() -> None:
    _terminal_seen.clear()
    _Schedule.last_reconcile = None


caches.register("watch", _forget)
