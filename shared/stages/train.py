"""Train stage: a training JSONL lands -> a fine-tuned custom model (or a recorded refusal).

Idempotency: the model carries tags (pipeline, dataset, source object, ETag) and
is created with an ``opc-retry-token`` derived from the JSONL and its ETag; the
status object is written conditionally. The same JSONL version delivered twice
finds its model by tags (or the token dedups a racing create); a new ETag
makes a new model version. The fine-tuning cluster is never waited for: the
stage records PENDING_CLUSTER; the watcher records the cluster's state change
in the status object, and that write brings the train stage back
(:func:`train_handed_over`) to create the model.
"""

from __future__ import annotations

from typing import Any

from shared import approval, base_model_lifecycle, genai, identity, jobspec, logs, naming, tags
from shared import plan as plans
from shared.convert.report import ConversionReport, Issue
from shared.errors import ErrorKind, classify, describe
from shared.events import ObjectEvent
from shared.families import Family, TrainingMethod
from shared.lifecycle import Lifecycle
from shared.outcome import Outcome, OutcomeStatus
from shared.records import MalformedRecord, quarantine, write_record
from shared.reports import DatasetReport
from shared.settings import ApprovalMode, Stage
from shared.stages.context import (
    StageContext,
    StatusRead,
    next_status,
    read_report,
    read_status,
    rebuild_from_model,
    write_status,
)
from shared.status import DatasetState, DuplicateOf
from shared.storage import ObjectInfo

log = logs.get_logger("ocift.train")

META_SOURCE_ETAG = "source-etag"

def _outcome(status: OutcomeStatus, reason: str, obj: str | None, **details: Any) -> Outcome:
    return Outcome.of(Stage.TRAIN.value, status, reason, obj, **details)


# -- stage entry -------------------------------------------------------------------------------


#: Status states the train stage acts on when a status object changes.
HANDED_TO_TRAIN = (DatasetState.PENDING_CLUSTER, DatasetState.QUEUED,
                   DatasetState.AWAITING_APPROVAL)


def on_training(ctx: StageContext, event: ObjectEvent, dataset: str) -> Outcome:
    """A JSONL landed: train the version the event names."""
    return train_dataset(ctx, dataset, event.etag)


def on_handoff(ctx: StageContext, event: ObjectEvent, dataset: str) -> Outcome:
    """The watcher handed the next step over (a cluster became ACTIVE, a JSONL was queued)."""
    return train_handed_over(ctx, dataset)


def on_approval(ctx: StageContext, event: ObjectEvent, dataset: str) -> Outcome:
    """The user wrote ``approvals/<dataset>.json``: train (or end) the version it binds."""
    name = naming.status_object(ctx.settings, dataset)
    current = read_status(ctx, dataset)
    if current is None or current[0].state is not DatasetState.AWAITING_APPROVAL:
        state = current[0].state.value if current is not None else "no status"
        return _outcome(OutcomeStatus.SKIPPED, f"{state}: not waiting for approval", name)
    return train_dataset(ctx, dataset, None)


def train_handed_over(ctx: StageContext, dataset: str) -> Outcome:
    """Resume ``dataset`` when its status says the train stage owns the next step.

    The watcher records that the fine-tuning cluster became ACTIVE (PENDING_CLUSTER
    with a new ``cluster_state``), and reconcile queues a JSONL no event trained
    (QUEUED with the JSONL as source); both hand the dataset to this stage.
    """
    name = naming.status_object(ctx.settings, dataset)
    current = read_status(ctx, dataset)
    if current is None:
        return _outcome(OutcomeStatus.SKIPPED, "no status object", name)
    status = current[0]
    queued_jsonl = (status.state is DatasetState.QUEUED and naming.training_dataset(
        ctx.settings, status.source_object or "") == dataset)
    if status.state not in (DatasetState.PENDING_CLUSTER, DatasetState.AWAITING_APPROVAL) \
            and not queued_jsonl:
        return _outcome(OutcomeStatus.SKIPPED, f"state {status.state.value}: nothing to train",
                        name)
    return train_dataset(ctx, dataset, None)


def train_dataset(ctx: StageContext, dataset: str, etag: str | None) -> Outcome:
    """Start (or resume, or recognise as done) training of ``dataset``'s JSONL.

    ``etag`` pins the JSONL version the event was about (None: the current one).
    """
    settings = ctx.settings
    name = naming.training_object(settings, dataset)
    info = ctx.store.head(name)
    if info is None:
        return _outcome(OutcomeStatus.SKIPPED, "the training JSONL no longer exists", name)
    if etag and info.etag != etag:
        return _outcome(OutcomeStatus.SKIPPED,
                        "stale event: the JSONL changed since; its newer event trains it", name)
    current = read_status(ctx, dataset)
    if current is not None:
        status = current[0]
        if status.source_etag == info.etag and status.state not in HANDED_TO_TRAIN:
            return _outcome(OutcomeStatus.DUPLICATE,
                            f"this JSONL version is already {status.state.value}", name,
                            model_id=status.model_id)
    try:
        return _train(ctx, dataset, info, current)
    except Exception as exc:
        if classify(exc) is ErrorKind.PERMANENT:
            return _reject(ctx, dataset, info, current, describe(exc))
        raise


def _reject(ctx: StageContext, dataset: str, info: ObjectInfo,
            current: StatusRead | None, reason: str) -> Outcome:
    try:  # show the job that was refused (when it parses at all)
        job: jobspec.EffectiveSpec | None = jobspec.effective(
            jobspec.from_metadata(info.metadata), ctx.settings)
    except jobspec.JobSpecError:
        job = None
    new, etag = next_status(current, dataset, DatasetState.REJECTED, reason, reason=reason,
                            source_object=info.name, source_etag=info.etag, spec=job,
                            plan=None)
    write_status(ctx, new, etag)
    log.warning("dataset rejected", extra={"dataset": dataset, "reason": reason})
    return _outcome(OutcomeStatus.REJECTED, reason, info.name)


def _train(ctx: StageContext, dataset: str, info: ObjectInfo,
           current: StatusRead | None) -> Outcome:
    settings = ctx.settings
    job = jobspec.effective(jobspec.from_metadata(info.metadata), settings)
    checked = validated_dataset(ctx, dataset, info, job.base_model)
    examples, sha256 = checked.records_written, checked.output_sha256
    models = genai.dataset_models(ctx.genai, settings, dataset)
    same = [m for m in models if (m.freeform_tags or {}).get(tags.SOURCE_ETAG) == info.etag]
    if same:
        model = max(same, key=genai.version_of)
        rebuild_from_model(ctx, dataset, model, current)
        return _outcome(OutcomeStatus.DUPLICATE, "a model was already created for this version",
                        info.name, model_id=model.id)
    model_now = current_model(models)
    if sha256 and model_now is not None and identity.same_job(
            model_now.freeform_tags, sha256, job.digest()):
        return _record_duplicate(ctx, dataset, info, current, model_now, sha256)
    version = max((genai.version_of(m) for m in models), default=0) + 1
    base = genai.resolve_base_model(ctx.genai, settings, job)
    verdict = base_model_lifecycle.judge(base.model)  # before anything billable
    if verdict.retired:
        raise genai.PermanentError(verdict.message)
    family = genai.family_of(base.name, job.key("base_model"))
    method = genai.choose_method(job, family, examples, settings.vanilla_threshold)
    genai.check_hyperparameters(job, family, method)
    if settings.approval is ApprovalMode.REQUIRED:
        decision = approval.read_approval(ctx.store, settings, dataset, Stage.TRAIN.value)
        if decision is None or not decision.binds(sha256, job.digest()):
            return _await_approval(ctx, dataset, info, current, job, family, method, examples,
                                   sha256, checked.eval_records)
        if decision.decision is approval.Decision.REJECT:
            return _reject(ctx, dataset, info, current, approval.REJECTED_BY_USER)
    cluster = genai.ensure_cluster(ctx.genai, settings, genai.FINE_TUNING, family)
    common: dict[str, Any] = {
        "reason": "", "base_model_warning": verdict.warning,
        "source_object": info.name, "source_etag": info.etag,
        "base_model": base.name, "base_model_id": base.id, "training_method": method.value,
        "finetuning_cluster_id": cluster.id, "content_sha256": sha256, "duplicate_of": None,
        "spec": job,
    }
    if not cluster.active:
        if not (current and current[0].state is DatasetState.PENDING_CLUSTER
                and current[0].source_etag == info.etag
                and current[0].finetuning_cluster_id == cluster.id):
            new, etag = next_status(current, dataset, DatasetState.PENDING_CLUSTER,
                                    f"waiting for fine-tuning cluster {cluster.id}",
                                    cluster_state=cluster.state, **common)
            write_status(ctx, new, etag)
        return _outcome(OutcomeStatus.PENDING, f"fine-tuning cluster is {cluster.state}",
                        info.name, cluster_id=cluster.id)
    model, wr_id = genai.create_model(
        ctx.genai, settings, dataset=dataset, source_object=info.name, source_etag=info.etag,
        base=base, cluster_id=cluster.id, method=method, version=version, job=job,
        content_sha256=sha256)
    for _attempt in range(3):
        new, etag = next_status(current, dataset, DatasetState.TRAINING,
                                f"model version {version}", model_id=model.id,
                                model_version=str(version), model_state=model.lifecycle_state,
                                work_request_id=wr_id or None, percent_complete=0.0, **common)
        if write_status(ctx, new, etag) is not None:
            break
        # Someone moved the status object (a watcher tick, a concurrent delivery).
        current = read_status(ctx, dataset)
        if current is not None and current[0].model_id == model.id:
            return _outcome(OutcomeStatus.DUPLICATE, "a concurrent delivery recorded the model",
                            info.name, model_id=model.id)
    else:
        raise RuntimeError(f"status object of {dataset!r} kept changing; redeliver")
    log.info("training started", extra={"dataset": dataset, "model_id": model.id,
                                        "method": method.value, "examples": examples,
                                        "version": version})
    return _outcome(OutcomeStatus.DONE, "training started", info.name, model_id=model.id,
                    work_request_id=wr_id, method=method.value, version=version)


def _await_approval(ctx: StageContext, dataset: str, info: ObjectInfo,
                    current: StatusRead | None, job: jobspec.EffectiveSpec, family: Family,
                    method: TrainingMethod, examples: int, sha256: str | None,
                    held_out: int) -> Outcome:
    """Record the plan and wait (AWAITING_APPROVAL): nothing billable is created."""
    waiting = f"awaiting approval: `ocift approve {dataset}` (or `ocift reject {dataset}`)"
    if current is not None:
        status = current[0]
        if (status.state is DatasetState.AWAITING_APPROVAL and status.source_etag == info.etag
                and status.plan is not None and status.plan.spec_sha256 == job.digest()):
            return _outcome(OutcomeStatus.PENDING, waiting, info.name)
    the_plan = plans.build(ctx.settings, job, family, method, examples, sha256, ctx.genai,
                           held_out)
    new, etag = next_status(current, dataset, DatasetState.AWAITING_APPROVAL, waiting,
                            source_object=info.name, source_etag=info.etag, spec=job,
                            plan=the_plan, base_model=job.base_model,
                            training_method=method.value, content_sha256=sha256,
                            duplicate_of=None)
    write_status(ctx, new, etag)
    log.info("awaiting approval", extra={"dataset": dataset, "examples": examples})
    return _outcome(OutcomeStatus.PENDING, waiting, info.name)


def current_model(models: list[Any]) -> Any | None:
    """The dataset's current model: its newest version that did not fail."""
    alive = [m for m in models if m.lifecycle_state != Lifecycle.FAILED]
    return max(alive, key=genai.version_of) if alive else None


def _record_duplicate(ctx: StageContext, dataset: str, info: ObjectInfo,
                      current: StatusRead | None, model: Any, sha256: str) -> Outcome:
    """The JSONL is byte-identical to what ``model`` was trained on: record, never retrain."""
    note = DuplicateOf(model_id=model.id, model_version=str(model.version),
                       source_object=info.name, source_etag=info.etag, content_sha256=sha256)
    detail = (f"duplicate: {info.name} is identical to what model v{model.version} was trained "
              "on; not trained again")
    if current is None or current[0].model_id != model.id:
        rebuild_from_model(ctx, dataset, model, current)
        current = read_status(ctx, dataset)
    if current is not None:
        status, etag = current
        write_status(ctx, status.moved_to(status.state, detail, source_object=info.name,
                                          source_etag=info.etag, duplicate_of=note), etag)
    log.info("duplicate dataset content", extra={"dataset": dataset, "model_id": model.id})
    return _outcome(OutcomeStatus.DUPLICATE, detail, info.name, model_id=model.id)


def validated_dataset(ctx: StageContext, dataset: str, info: ObjectInfo,
                      base_model: str | None = None) -> DatasetReport:
    """The report of a valid JSONL (examples, SHA-256, held-out count); PermanentError when
    invalid.

    The convert stage's report is used when it describes this JSONL's source
    version (its ``output_sha256``; None from reports older than issue 13); a
    directly dropped JSONL is validated by streaming it through the converter
    (bounded memory, hashed on the way) and its report written.
    """
    report_name = naming.report_object(ctx.settings, dataset)
    versions = {info.etag, info.metadata.get(META_SOURCE_ETAG)} - {None, ""}
    try:
        got = read_report(ctx, dataset)
    except MalformedRecord as bad:
        quarantine(ctx.store, ctx.settings, bad, Stage.TRAIN.value)
        got = None  # validated again below, and the report rewritten
    if got is not None and got[0].source_etag in versions:
        report = got[0]
    else:
        report = _validate(ctx, dataset, info, base_model or ctx.settings.base_model)
        write_record(ctx.store, report_name, report)
    if not report.valid:
        raise genai.PermanentError(f"dataset is invalid: {report.reason()} "
                                   f"(see {report_name})")
    return report


def _validate(ctx: StageContext, dataset: str, info: ObjectInfo,
              base_model: str) -> DatasetReport:
    from shared.convert import DatasetRules, convert_stream

    _, stream = ctx.store.open(info.name, if_match=info.etag)
    with stream:
        hashed = identity.HashingReader(stream)
        conversion = convert_stream(hashed, None, source=info.name,
                                    rules=DatasetRules.for_base_model(base_model))
    not_as_is = _not_trainable_as_is(conversion) if conversion.valid else None
    valid = conversion.valid and not_as_is is None
    return DatasetReport.of_conversion(
        conversion, valid=valid, fatal=not_as_is or conversion.fatal, dataset=dataset,
        source_object=info.name, source_etag=info.etag, source_size=info.size,
        output_object=info.name if valid else None, base_model=base_model,
        validated_by=Stage.TRAIN.value, output_sha256=hashed.hexdigest() if valid else None)


#: Skip reasons the converter can clean up but OCI rejects when the file is trained as-is.
#: (Duplicates are cleaned by the converter too, but OCI accepts them.)
REJECTED_AS_IS = frozenset({"not_an_object", "missing_field", "non_string_field", "empty_field",
                            "invalid_unicode", "record_too_long"})


def _not_trainable_as_is(report: ConversionReport) -> Issue | None:
    """Why a directly dropped JSONL, trained byte for byte, would fail at OCI (or ``None``).

    The converter skips bad records when it writes a JSONL; a dropped JSONL is not
    rewritten, so any record OCI refuses, or extra keys beside prompt/completion,
    fail the whole training run. Say so before a cluster is paid for.
    """
    skipped = {reason: n for reason, n in report.skipped_by_reason.items()
               if reason in REJECTED_AS_IS and n}
    extra = report.records_with_extra_keys
    if not skipped and not extra:
        return None
    problems = [f"{n} record(s) {reason.replace('_', ' ')}"
                for reason, n in sorted(skipped.items())]
    if extra:
        problems.append(f"{extra} record(s) with keys other than prompt/completion")
    first = report.skipped_examples[0] if report.skipped_examples else None
    return Issue(
        code="not_trainable_as_is",
        message="OCI would reject this JSONL as uploaded: " + "; ".join(problems),
        record_index=first.record_index if first else None,
        line=first.line if first else None, byte_offset=first.byte_offset if first else None,
        hint="fix those lines, or upload the file under the raw/ prefix so the convert "
             "stage writes a clean training JSONL")
