"""One watch tick: observe every in-flight dataset once and record what changed.

It lists the ``status/`` objects and, for each that is not settled, makes one state call
(work request or model for TRAINING, cluster for PENDING_*, endpoint for
ENDPOINT_CREATING). A change is written back with ``If-Match`` (a 412 means someone else
moved it; the next tick re-reads) and, when the next step is a stage's, handed to that
stage (:func:`~.common.save`). One dataset's failure, or a status object that does not
parse (quarantined once), never stops the others.
"""

from __future__ import annotations

import time
from typing import Any

from shared import caches, genai, naming
from shared.errors import ErrorKind, classify, describe
from shared.lifecycle import GONE, REMOVED, WORK_REQUEST_DONE, Lifecycle
from shared.records import MalformedRecord
from shared.settings import Settings, Stage
from shared.stages.context import StageContext, context_for
from shared.stages.watch.common import (
    TickReport,
    log,
    pay_owed,
    read_isolated,
    save,
    status_objects,
)
from shared.stages.watch.sweeper import Busy, finetuning_release
from shared.status import MODEL_STATE_TO_DATASET, DatasetState, DatasetStatus

__all__ = ["TickReport", "tick"]


def tick(settings: Settings, counter: genai.CallCounter | None = None,
         ctx: StageContext | None = None, deadline: float | None = None) -> TickReport:
    """Observe every in-flight dataset once and record what changed.

    Datasets are observed least recently observed first, and a dataset is started only
    while the call's ``deadline`` (epoch seconds, fdk's ``Fn-Deadline``) leaves room for
    the SDK's whole retry budget (``OCIFT_RETRY_MAX_SECONDS``): under heavy throttling a
    tick ends by itself with the rest ``deferred`` to the next tick, which takes them
    first, instead of being killed at its timeout with the same datasets last every time.
    """
    ctx = ctx or context_for(settings, counter=counter or genai.CallCounter())
    start = ctx.counter.snapshot()
    report = TickReport()
    watched: list[tuple[str, DatasetStatus, str]] = []
    for name, listed_etag in list(status_objects(ctx)):
        dataset = naming.status_dataset(ctx.settings, name)
        key = (ctx.store.bucket, name)
        if dataset is None or (listed_etag and _settled_seen.get(key) == listed_etag):
            continue
        try:
            current = read_isolated(ctx, dataset, report.quarantined)
        except Exception as exc:  # one unreadable status never stops the others
            report.errors.append(f"{dataset}: {type(exc).__name__}")
            continue
        if isinstance(current, MalformedRecord):
            _remember_settled(key, current.etag)  # quarantined: not read again until it changes
            continue
        if current is None:
            continue
        try:
            pay_owed(ctx, current[0], current[1], report)
        except Exception as exc:  # still failing: owed again next tick
            report.errors.append(f"{dataset}: hand-off {type(exc).__name__}")
            continue
        if current[0].settled:
            _remember_settled(key, current[1])
            continue
        watched.append((dataset, current[0], current[1]))
    busy = Busy.of(watched)
    bucket = ctx.store.bucket
    watched.sort(key=lambda w: _observed.get((bucket, w[0]), 0.0))
    for dataset, status, etag in watched:
        if deadline is not None and deadline - time.time() < settings.retry_max_seconds:
            report.deferred += 1
            continue
        report.in_flight += 1
        if len(_observed) >= _SETTLED_CACHE_MAX:
            _observed.clear()
        _observed[(bucket, dataset)] = time.monotonic()
        try:
            _observe(ctx, status, etag, report, busy)
        except Exception as exc:  # one dataset's transient error never stops the others
            log.warning("watch of dataset failed", extra={"dataset": dataset,
                                                          "error": describe(exc)})
            report.errors.append(f"{dataset}: {type(exc).__name__}")
    end = ctx.counter.snapshot()
    report.calls = {op: n - start.get(op, 0) for op, n in end.items() if n - start.get(op, 0)}
    return report


# When this process last observed each in-flight dataset (monotonic): the least recent goes
# first, so a tick cut short by its time budget never starves the same datasets.
_observed: dict[tuple[str, str], float] = {}

# Status objects seen settled (or quarantined), by ETag: a warm watch function lists them
# (name + ETag) but never reads them again until they change.
_settled_seen: dict[tuple[str, str], str] = {}
_SETTLED_CACHE_MAX = 100_000


def _remember_settled(key: tuple[str, str], etag: str) -> None:
    if len(_settled_seen) >= _SETTLED_CACHE_MAX:
        _settled_seen.clear()
    _settled_seen[key] = etag


def _observe(ctx: StageContext, status: DatasetStatus, etag: str, report: TickReport,
             busy: Busy) -> None:
    state = status.state
    if status.releases and _observe_releases(ctx, status, etag, report):
        return  # written: the next tick reads the new version
    if state is DatasetState.TRAINING and status.model_id:
        _observe_training(ctx, status, etag, report, busy)
    elif state is DatasetState.PENDING_CLUSTER and status.finetuning_cluster_id:
        _observe_cluster(ctx, status, etag, status.finetuning_cluster_id, report)
    elif state is DatasetState.PENDING_HOSTING_CLUSTER and status.hosting_cluster_id:
        _observe_cluster(ctx, status, etag, status.hosting_cluster_id, report)
    elif state is DatasetState.QUEUED:
        _observe_queued(ctx, status, etag, report)
    elif state is DatasetState.ENDPOINT_CREATING and status.endpoint_id:
        endpoint = ctx.genai.get_endpoint(status.endpoint_id).data
        if endpoint.lifecycle_state == Lifecycle.ACTIVE:
            # Serving: the endpoint stage retires what it supersedes, and the version is
            # evaluated against its base (issue 25).
            save(ctx, status.moved_to(DatasetState.ENDPOINT_ACTIVE, "endpoint ACTIVE",
                                      endpoint_state=Lifecycle.ACTIVE.value), etag, report,
                 also=(Stage.EVALUATE,))
        elif endpoint.lifecycle_state in GONE:
            reason = endpoint.lifecycle_details or f"endpoint {endpoint.lifecycle_state}"
            save(ctx, status.moved_to(DatasetState.ENDPOINT_FAILED, reason, reason=reason,
                                      endpoint_state=endpoint.lifecycle_state), etag, report)
        elif endpoint.lifecycle_state != status.endpoint_state:
            save(ctx, status.moved_to(state, endpoint_state=endpoint.lifecycle_state), etag,
                 report)
    # MODEL_ACTIVE: handed to the endpoint stage by the write that recorded it (reconcile
    # hands it over again if that was lost).


def _observe_cluster(ctx: StageContext, status: DatasetStatus, etag: str, cluster_id: str,
                     report: TickReport) -> None:
    """Record a change of the cluster a PENDING_* dataset waits for; once it is ACTIVE (or
    failed), the write hands the dataset to its owner, which creates the model or endpoint
    (or replaces the cluster). The watcher itself creates nothing."""
    state = ctx.genai.get_dedicated_ai_cluster(cluster_id).data.lifecycle_state
    if state == status.cluster_state:
        return
    save(ctx, status.moved_to(status.state, f"cluster {cluster_id} {state}",
                              cluster_state=state), etag, report)


def _observe_queued(ctx: StageContext, status: DatasetStatus, etag: str,
                    report: TickReport) -> None:
    """A queued raw object whose report says it can never convert is REJECTED."""
    from shared.stages.context import read_report

    if naming.raw_dataset(ctx.settings, status.source_object or "") != status.dataset:
        return
    try:
        got = read_report(ctx, status.dataset)
    except MalformedRecord:
        return  # the convert stage quarantines and replaces it when it runs
    if got is not None and got[0].source_etag == status.source_etag and not got[0].valid:
        reason = got[0].reason()
        save(ctx, status.moved_to(DatasetState.REJECTED, reason, reason=reason), etag, report)


def _observe_releases(ctx: StageContext, status: DatasetStatus, etag: str,
                      report: TickReport) -> bool:
    """Mark a release ready once the endpoints it waits for are gone (that write hands the
    dataset to the endpoint stage, which deletes the cluster)."""
    changed = False
    releases = []
    for release in status.releases:
        if not release.ready and all(_endpoint_gone(ctx, e) for e in release.wait_for):
            release = release.model_copy(update={"ready": True})
            changed = True
        releases.append(release)
    if changed:
        return save(ctx, status.moved_to(status.state, "cluster release ready",
                                         releases=releases), etag, report)
    return False


def _endpoint_gone(ctx: StageContext, endpoint_id: str) -> bool:
    try:
        state = ctx.genai.get_endpoint(endpoint_id).data.lifecycle_state
    except Exception as exc:
        if classify(exc, confirmed_gone=True) is ErrorKind.GONE:
            return True
        raise
    return bool(state == Lifecycle.DELETED)


def _observe_training(ctx: StageContext, status: DatasetStatus, etag: str,
                      report: TickReport, busy: Busy) -> None:
    assert status.model_id is not None
    if status.work_request_id:
        wr = ctx.genai.get_work_request(status.work_request_id).data
        if wr.status not in WORK_REQUEST_DONE:
            pct = float(wr.percent_complete or 0.0)
            if pct != status.percent_complete:
                save(ctx, status.moved_to(DatasetState.TRAINING, percent_complete=pct),
                     etag, report)
            return
    model = ctx.genai.get_model(status.model_id).data
    new_state = MODEL_STATE_TO_DATASET.get(str(model.lifecycle_state))
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
    changes["releases"] = finetuning_release(ctx, status, busy)
    save(ctx, status.moved_to(new_state, detail, **changes), etag, report)


def _metrics(model: Any) -> dict[str, Any] | None:
    """OCI's metrics, plus the local stand-in's baseline and similarity floor."""
    from shared.metrics import recorded

    return recorded(model)


def _forget() -> None:
    _settled_seen.clear()
    _observed.clear()


caches.register("watch-tick", _forget)
