"""Watcher and reconcile: one code path that moves in-flight datasets on.

OCI Generative AI emits no events, so :func:`tick` polls -- but only what the
pipeline has in flight: it lists the ``status/`` objects and, for each that is
not terminal, makes one state call (work request or model for TRAINING,
cluster for PENDING_*, endpoint for ENDPOINT_CREATING). A change is written
back to the status object with ``If-Match`` (a 412 means someone else moved
it; the next tick re-reads), and that write is the Object Storage event that
reaches the endpoint stage. Pending steps resume through the stages' own
functions (:func:`shared.stages.train.train_dataset`,
:func:`shared.stages.endpoint.ensure_endpoint`).

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
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from shared import caches, genai, logs, naming, tags
from shared.lifecycle import GONE, REMOVED, WORK_REQUEST_DONE, Lifecycle
from shared.outcome import Outcome, OutcomeStatus
from shared.settings import Settings, Stage
from shared.stages.context import StageContext, context_for, read_status, write_status
from shared.stages.endpoint import ensure_endpoint
from shared.stages.train import MODEL_STATE_TO_DATASET, record_model, train_dataset
from shared.status import DatasetState, DatasetStatus

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
    for name, listed_etag in list(_status_objects(ctx)):
        dataset = naming.status_dataset(ctx.settings, name)
        key = (ctx.store.bucket, name)
        if dataset is None or (listed_etag and _terminal_seen.get(key) == listed_etag):
            continue
        current = read_status(ctx, dataset)
        if current is None:
            continue
        if current[0].terminal:
            _remember_terminal(key, current[1])
            continue
        report.in_flight += 1
        try:
            _observe(ctx, dataset, current[0], current[1], report)
        except Exception as exc:  # one dataset's transient error never stops the others
            log.warning("watch of dataset failed", extra={"dataset": dataset,
                                                          "error": genai.error_reason(exc)})
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
    """``(name, etag)`` of every status object (one listing call per 1000)."""
    start: str | None = None
    while True:
        kwargs: dict[str, Any] = {"prefix": ctx.settings.status_prefix, "fields": "name,etag",
                                  "limit": 1000}
        if start:
            kwargs["start"] = start
        resp = ctx.store.client.list_objects(ctx.store.namespace, ctx.store.bucket, **kwargs)
        for obj in resp.data.objects:
            yield obj.name, getattr(obj, "etag", None) or ""
        start = resp.data.next_start_with
        if not start:
            return


def _observe(ctx: StageContext, dataset: str, status: DatasetStatus, etag: str,
             report: TickReport) -> None:
    state = status.state
    if state is DatasetState.TRAINING and status.model_id:
        _observe_training(ctx, status, etag, report)
    elif state is DatasetState.PENDING_CLUSTER and status.finetuning_cluster_id:
        cluster = ctx.genai.get_dedicated_ai_cluster(status.finetuning_cluster_id).data
        if cluster.lifecycle_state == Lifecycle.ACTIVE or cluster.lifecycle_state in GONE:
            outcome = train_dataset(ctx, dataset, None)
            report.resumed.append(f"{dataset}: train {outcome.status.value}")
    elif state is DatasetState.PENDING_HOSTING_CLUSTER and status.hosting_cluster_id:
        cluster = ctx.genai.get_dedicated_ai_cluster(status.hosting_cluster_id).data
        if cluster.lifecycle_state == Lifecycle.ACTIVE or cluster.lifecycle_state in GONE:
            outcome = ensure_endpoint(ctx, dataset)
            report.resumed.append(f"{dataset}: endpoint {outcome.status.value}")
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


def _observe_training(ctx: StageContext, status: DatasetStatus, etag: str,
                      report: TickReport) -> None:
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
    _save(ctx, status.moved_to(new_state, detail, **changes), etag, report)


def _metrics(model: Any) -> dict[str, Any] | None:
    metrics = getattr(model, "model_metrics", None)
    if metrics is None:
        return None
    if isinstance(metrics, dict):
        return dict(metrics)
    if hasattr(metrics, "swagger_types"):
        from oci.util import to_dict

        result: dict[str, Any] = to_dict(metrics)
        return result
    return dict(vars(metrics))


def _save(ctx: StageContext, status: DatasetStatus, etag: str, report: TickReport) -> None:
    if write_status(ctx, status, etag) is not None:
        report.changed.append(f"{status.dataset}: {status.state.value}")


def reconcile(settings: Settings, counter: genai.CallCounter | None = None) -> ReconcileReport:
    """Finish what events missed for every pipeline dataset, then tick."""
    ctx = context_for(settings, counter=counter or genai.CallCounter())
    s = ctx.settings
    report = ReconcileReport()
    for name in list(ctx.store.list_names(s.training_prefix)):
        dataset = naming.training_dataset(s, name)
        if dataset is None:
            continue
        info = ctx.store.head(name)
        current = read_status(ctx, dataset)
        if info is None or (current is not None and current[0].source_etag == info.etag):
            continue
        outcome = train_dataset(ctx, dataset, info.etag)
        report.actions.append(f"{dataset}: train {outcome.status.value}")
    latest: dict[str, Any] = {}
    for item in genai.list_all(ctx.genai.list_models, s.compartment_id):
        item_tags = item.freeform_tags or {}
        dataset = item_tags.get(tags.DATASET)
        if (not dataset or item.lifecycle_state in REMOVED
                or not tags.matches(item_tags, pipeline=s.pipeline_name, role=tags.ROLE_MODEL)):
            continue
        if dataset not in latest or genai.version_of(item) > genai.version_of(latest[dataset]):
            latest[dataset] = item
    for dataset, model in sorted(latest.items()):
        current = read_status(ctx, dataset)
        if current is None:
            record_model(ctx, dataset, model, None, work_request_id=None)
            report.actions.append(f"{dataset}: status rebuilt")
            current = read_status(ctx, dataset)
        if (current is not None and current[0].model_id == model.id
                and current[0].state is DatasetState.MODEL_ACTIVE):
            outcome = ensure_endpoint(ctx, dataset)
            report.actions.append(f"{dataset}: endpoint {outcome.status.value}")
    report.tick = tick(s, ctx=ctx)
    report.calls = ctx.counter.snapshot()
    return report


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
