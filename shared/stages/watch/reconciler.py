"""Reconcile: finish what lost events left undone, and repair lost status objects.

The watcher creates nothing: it writes status objects and hand-offs, and each hand-off
wakes the one stage that owns the next step.

1. a pipeline model whose status object is missing or quarantined -> the status rebuilt
   from the model's tags (model, version, source, base model, content hash), then handed
   to its owner (an ACTIVE model to the endpoint stage, which finds its endpoint by tags);
2. a raw object with no report for its current ETag -> QUEUED for convert;
   (2 and 3 leave alone objects written less than ``OCIFT_RECONCILE_GRACE_SECONDS`` ago,
   whose own event is still on its way: reconcile never races a live delivery)
3. a JSONL whose status does not describe its current ETag -> QUEUED for train (this also
   rebuilds the status of a dataset lost before its model existed);
4. any status whose next step is a stage's (QUEUED, MODEL_ACTIVE, a ready release, a
   PENDING_* whose cluster is ACTIVE, an AWAITING_APPROVAL with an approval object listed:
   its event may have been lost) -> handed to that stage again;
5. a dataset whose endpoint is gone (deleted by ``ocift down`` or the Console) -> its
   status says what remains (:mod:`.gone`: MODEL_ACTIVE with no endpoint);
6. the cluster sweep (releases and idle clusters), then a tick.

Each dataset is handled in isolation: one failing dataset is logged and reported in
``errors``, the rest proceed, and no bucket content makes reconcile fail.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from pydantic import BaseModel, Field

from shared import genai, naming, tags
from shared.errors import describe
from shared.lifecycle import REMOVED
from shared.records import MalformedRecord, read_record
from shared.settings import Settings, Stage
from shared.stages.context import (
    StageContext,
    StatusRead,
    context_for,
    hand_to,
    next_status,
    read_report,
    read_status,
    rebuild_from_model,
    write_status,
)
from shared.stages.watch.common import (
    TickReport,
    listed,
    listed_with_time,
    log,
    owner_of,
    read_isolated,
    settling,
    statuses,
)
from shared.stages.watch.gone import record_deleted
from shared.stages.watch.sweeper import (
    NEEDS_FINETUNING,
    Busy,
    finetuning_release,
    sweep_clusters,
)
from shared.stages.watch.ticker import tick
from shared.status import DatasetState, DatasetStatus


class ReconcileReport(BaseModel):
    actions: list[str] = Field(default_factory=list)
    quarantined: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    tick: TickReport = Field(default_factory=TickReport)
    calls: dict[str, int] = Field(default_factory=dict)


def _isolated(report: ReconcileReport, what: str, step: Callable[[], None]) -> None:
    """Run one dataset's step; a failure is reported, never raised."""
    try:
        step()
    except Exception as exc:
        log.warning("reconcile step failed", extra={"what": what,
                                                    "error": describe(exc)})
        report.errors.append(f"{what}: {type(exc).__name__}: {describe(exc)[:200]}")


def reconcile(settings: Settings, counter: genai.CallCounter | None = None) -> ReconcileReport:
    """Hand every piece of work no event carried back to the stage that owns it, then tick."""
    ctx = context_for(settings, counter=counter or genai.CallCounter())
    report = ReconcileReport()
    queued: set[str] = set()
    latest = _latest_models(ctx)
    for dataset, model in sorted(latest.items()):
        _isolated(report, dataset, partial(_repair, ctx, dataset, model, queued, report))
    for name, etag, modified in list(listed_with_time(ctx, ctx.settings.raw_prefix)):
        if not settling(ctx, modified):
            _isolated(report, name, partial(_raw, ctx, name, etag, queued, report))
    for name, etag, modified in list(listed_with_time(ctx, ctx.settings.training_prefix)):
        if not settling(ctx, modified):
            _isolated(report, name, partial(_jsonl, ctx, name, etag, queued, report))
    _isolated(report, "deleted endpoints",
              lambda: report.actions.extend(record_deleted(ctx, report.quarantined)))
    for name, _ in list(listed(ctx, ctx.settings.status_prefix)):
        _isolated(report, name, partial(_hand_back, ctx, name, queued, report))
    tick_report = TickReport(quarantined=report.quarantined)
    _isolated(report, "cluster sweep",
              lambda: report.actions.extend(sweep_clusters(ctx, report=tick_report)))
    try:
        report.tick = tick(ctx.settings, ctx=ctx)
    except Exception as exc:
        report.errors.append(f"tick: {type(exc).__name__}")
    report.calls = ctx.counter.snapshot()
    return report


def _latest_models(ctx: StageContext) -> dict[str, Any]:
    """The newest live pipeline model of each dataset, from ListModels and the models' tags."""
    s = ctx.settings
    latest: dict[str, Any] = {}
    for item in genai.list_all(ctx.genai.list_models, s.compartment_id):
        item_tags = item.freeform_tags or {}
        dataset = item_tags.get(tags.DATASET)
        if (not dataset or item.lifecycle_state in REMOVED or tags.is_shortened(dataset)
                or not tags.matches(item_tags, pipeline=s.pipeline_name, role=tags.ROLE_MODEL)):
            continue
        if dataset not in latest or genai.version_of(item) > genai.version_of(latest[dataset]):
            latest[dataset] = item
    return latest


def _repair(ctx: StageContext, dataset: str, model: Any, queued: set[str],
            report: ReconcileReport) -> None:
    """Rebuild ``dataset``'s status from ``model`` when it is missing or quarantined."""
    current = read_isolated(ctx, dataset, report.quarantined)
    if isinstance(current, tuple):
        return
    overwrite = current.etag if isinstance(current, MalformedRecord) else None
    etag = rebuild_from_model(ctx, dataset, model, None, overwrite_etag=overwrite,
                              detail="reconcile: status rebuilt from the model's tags")
    if etag is None:
        return
    report.actions.append(f"{dataset}: status rebuilt")
    queued.add(dataset)  # handed over here: step 4 leaves it alone
    rebuilt = read_status(ctx, dataset)
    if rebuilt is None:
        return
    status, etag = rebuilt
    if status.state in (DatasetState.MODEL_ACTIVE, DatasetState.MODEL_FAILED):
        # Its training ended while the status was lost: release the fine-tuning cluster as
        # the tick would have, so nothing keeps billing unseen.
        busy = Busy({d for d, (st, _) in statuses(ctx).items()
                     if st.state in NEEDS_FINETUNING})
        releases = finetuning_release(ctx, status, busy)
        if releases != status.releases:
            moved = status.moved_to(status.state, "reconcile: fine-tuning cluster released",
                                    releases=releases)
            etag = write_status(ctx, moved, etag) or etag
            status = moved
    owner = owner_of(ctx, status)
    if owner is not None:
        hand_to(ctx, owner, status, etag, "reconcile: status rebuilt")


def _raw(ctx: StageContext, name: str, etag: str, queued: set[str],
         report: ReconcileReport) -> None:
    dataset = naming.raw_dataset(ctx.settings, name)
    if dataset is None:
        return
    try:
        got = read_report(ctx, dataset)
    except MalformedRecord:
        got = None  # convert quarantines and replaces it
    if got is not None and (got[0].source_etag == etag or got[0].source_object != name):
        return  # converted (or rejected) already, or another raw object owns the name
    current = read_isolated(ctx, dataset, report.quarantined)
    if _queue(ctx, dataset, current, name, etag, Stage.CONVERT, report):
        queued.add(dataset)


def _jsonl(ctx: StageContext, name: str, etag: str, queued: set[str],
           report: ReconcileReport) -> None:
    dataset = naming.training_dataset(ctx.settings, name)
    if dataset is None:
        return
    current = read_isolated(ctx, dataset, report.quarantined)
    if (isinstance(current, tuple) and current[0].source_etag == etag
            and current[0].state is not DatasetState.QUEUED):
        return
    if _queue(ctx, dataset, current, name, etag, Stage.TRAIN, report):
        queued.add(dataset)


def _hand_back(ctx: StageContext, name: str, queued: set[str],
               report: ReconcileReport) -> None:
    dataset = naming.status_dataset(ctx.settings, name)
    if dataset is None or dataset in queued:
        return  # just queued or rebuilt: that hand-off was written already
    current = read_isolated(ctx, dataset, report.quarantined)
    if not isinstance(current, tuple):
        return
    status, etag = current
    if status.state is DatasetState.ENDPOINT_ACTIVE and _needs_evaluation(ctx, status):
        hand_to(ctx, Stage.EVALUATE, status, etag, "reconcile: evaluation missing or unfinished")
        report.actions.append(f"{dataset}: handed to evaluate")
    owner = owner_of(ctx, status)
    if owner is None and status.state is DatasetState.AWAITING_APPROVAL and (
            ctx.store.listed_etag(naming.approval_object(ctx.settings, dataset)) is not None):
        owner = Stage.TRAIN  # the user decided; the watcher may list approvals, not read them
    if owner is None or (status.state is DatasetState.ENDPOINT_ACTIVE
                         and not any(r.ready for r in status.releases)):
        return  # nothing waits on a stage (a serving dataset retired its old endpoints)
    hand_to(ctx, owner, status, etag, "reconcile: handed back")
    report.actions.append(f"{dataset}: {status.state.value} handed back to {owner.value}")


def _needs_evaluation(ctx: StageContext, status: DatasetStatus) -> bool:
    """True when the serving version has no finished evaluation report (issue 25)."""
    from shared.evaluation.report import EvaluationReport

    if not status.model_version:
        return False
    name = naming.evaluation_report_object(ctx.settings, status.dataset, status.model_version)
    try:
        got = read_record(ctx.store, name, EvaluationReport)
    except MalformedRecord:
        return True  # the evaluate stage quarantines it and evaluates the version afresh
    return got is None or not got[0].complete


def _queue(ctx: StageContext, dataset: str, current: StatusRead | MalformedRecord | None,
           source: str, etag: str, owner: Stage, report: ReconcileReport) -> bool:
    """Record ``source`` (at ``etag``) as QUEUED and hand it to ``owner``, unless the dataset
    is busy with another version. ``current`` is its status as just read; a quarantined
    status is replaced."""
    overwrite = current.etag if isinstance(current, MalformedRecord) else None
    readable = current if isinstance(current, tuple) else None
    if readable is not None and not (readable[0].terminal
                                     or readable[0].state is DatasetState.QUEUED):
        report.actions.append(f"{dataset}: {owner.value} waits ({readable[0].state.value})")
        return False
    new, status_etag = next_status(readable, dataset, DatasetState.QUEUED,
                                   f"reconcile: {source} queued for {owner.value}",
                                   source_object=source, source_etag=etag)
    new_etag = write_status(ctx, new, status_etag or overwrite)
    if new_etag is None:
        return False
    hand_to(ctx, owner, new, new_etag, f"reconcile: {source} queued")
    report.actions.append(f"{dataset}: {owner.value} queued")
    return True
