"""The convert stage: a raw dataset object becomes ``training/<name>.jsonl`` + a report.

Safety rules:

* The source is read pinned to the event's ETag (``If-Match``): a stale event
  for an object that has since changed is skipped; the newer event converts.
* The JSONL is written by multipart upload and committed only when the whole
  dataset is valid; otherwise the upload is aborted and only the report is
  written. A crash midway leaves no JSONL; the next delivery redoes the work.
* The output carries ``opc-meta-source-etag``; a re-delivered event for the
  same ETag is a no-op, and a newer source replaces the output with
  ``If-Match`` on the output version it saw (``If-None-Match: *`` when new).
* The report is written before the JSONL, so the train stage triggered by the
  JSONL always finds the report of the same source version.
"""

from __future__ import annotations

import io
from typing import Any

from shared import identity, jobspec, logs, naming
from shared.errors import ConfigurationError, ErrorKind, classify, describe, not_found
from shared.events import ObjectEvent
from shared.outcome import Outcome, OutcomeStatus
from shared.records import MalformedRecord, quarantine, write_record
from shared.reports import DatasetReport
from shared.settings import Stage
from shared.stages.context import StageContext, read_report, read_status
from shared.status import DatasetState
from shared.storage import ObjectNotFound, PreconditionFailed

log = logs.get_logger("ocift.convert")

META_SOURCE_OBJECT = "source-object"
META_SOURCE_ETAG = "source-etag"
JSONL_CONTENT_TYPE = "application/x-ndjson"


def _outcome(status: OutcomeStatus, reason: str, name: str, **details: Any) -> Outcome:
    return Outcome.of(Stage.CONVERT.value, status, reason, name, **details)


def on_raw(ctx: StageContext, event: ObjectEvent, dataset: str) -> Outcome:
    """A raw object landed: convert the version the event names."""
    return convert_source(ctx, event.object_name, event.etag, dataset)


def on_handoff(ctx: StageContext, event: ObjectEvent, dataset: str) -> Outcome:
    """The watcher handed over a raw object reconcile QUEUED: convert it."""
    return convert_queued(ctx, dataset)


def convert_queued(ctx: StageContext, dataset: str) -> Outcome:
    """Convert the raw object reconcile queued in the status object, if that is what it says."""
    name = naming.status_object(ctx.settings, dataset)
    current = read_status(ctx, dataset)
    if current is None:
        return _outcome(OutcomeStatus.SKIPPED, "no status object", name)
    status = current[0]
    source = status.source_object or ""
    if (status.state is not DatasetState.QUEUED or not status.source_etag
            or naming.raw_dataset(ctx.settings, source) != dataset):
        return _outcome(OutcomeStatus.SKIPPED, f"state {status.state.value}: nothing to convert",
                        name)
    return convert_source(ctx, source, status.source_etag, dataset)


def convert_source(ctx: StageContext, name: str, etag: str, dataset: str) -> Outcome:
    """Convert raw object ``name`` at version ``etag`` into ``dataset``'s training JSONL."""
    from shared.convert import DatasetRules, convert_stream

    settings, store = ctx.settings, ctx.store
    out_name = naming.training_object(settings, dataset)
    report_name = naming.report_object(settings, dataset)
    problem = naming.derived_name_problem(settings, dataset)
    if problem is not None:
        return _refuse(ctx, name, etag, dataset, "name_too_long", problem)

    existing = store.head(out_name)
    if existing is not None and existing.metadata.get(META_SOURCE_ETAG) == etag:
        return _outcome(OutcomeStatus.DUPLICATE, "already converted from this source version",
                        name, output=out_name)
    report_etag: str | None = None
    try:
        previous_report = read_report(ctx, dataset)
    except MalformedRecord as bad:
        # A report that does not parse claims nothing: keep a copy, then replace it.
        quarantine(store, settings, bad, Stage.CONVERT.value)
        previous_report, report_etag = None, bad.etag
    if previous_report is not None:
        previous, report_etag = previous_report
        if previous.source_etag == etag and not previous.valid:
            return _outcome(OutcomeStatus.DUPLICATE, "already rejected for this source version",
                            name, report=report_name)
        owner = identity.name_owner(settings, dataset, name, previous)
        if owner is not None and store.head(owner) is not None:
            return _reject_collision(ctx, dataset, name, etag, owner)

    try:
        info, stream = store.open(name, if_match=etag)
    except ObjectNotFound:
        return _source_missing(ctx, name)
    except PreconditionFailed:
        return _outcome(OutcomeStatus.SKIPPED,
                        "stale event: the source changed since; its newer event converts it",
                        name)
    try:  # the job spec travels with the data: copied onto the JSONL (issue 24)
        spec = jobspec.from_metadata(info.metadata)
    except jobspec.JobSpecError as exc:
        stream.close()
        return _refuse(ctx, name, etag, dataset, "bad_job_spec", str(exc))
    # The job as it will run (field mapping, eval size, base model for the token limits).
    job = jobspec.effective(spec, settings)
    base_model = job.base_model
    try:
        mapping = jobspec.field_mapping(job)
    except ValueError as exc:
        stream.close()
        return _refuse(ctx, name, etag, dataset, "bad_field_mapping",
                       f"the object's field mapping cannot be used: {exc}")
    writer = store.writer(
        out_name,
        part_size=settings.multipart_part_size,
        content_type=JSONL_CONTENT_TYPE,
        metadata={META_SOURCE_OBJECT: name, META_SOURCE_ETAG: etag,
                  **jobspec.to_metadata(spec)},
    )
    hashing = identity.HashingWriter(writer)
    held_out = io.BytesIO()  # the evaluation split: at most a few hundred examples
    try:
        with stream:
            report = convert_stream(stream, hashing, source=name, size_hint=info.size or None,
                                    rules=DatasetRules.for_base_model(base_model),
                                    eval_size=job.eval_size or 0, eval_out=held_out,
                                    mapping=mapping)
    except BaseException as exc:
        writer.abort()
        if classify(exc) is not ErrorKind.PERMANENT:
            raise
        return _refuse(ctx, name, etag, dataset, "refused_by_oci",
                       f"Object Storage refused the training JSONL: {describe(exc)}")

    eval_name = naming.eval_object(settings, dataset) if report.eval_records else None
    doc = DatasetReport.of_conversion(
        report, dataset=dataset, source_object=name, source_etag=etag, source_size=info.size,
        output_object=out_name if report.valid else None, base_model=base_model,
        output_sha256=hashing.hexdigest() if report.valid else None, eval_object=eval_name)
    # The report claims the dataset name: conditional on the report read above, so of two
    # raw objects racing for one name exactly one wins (the loser is redelivered and
    # rejected as a collision).
    claim: dict[str, Any] = ({"if_match": report_etag} if report_etag
                             else {"if_none_match": "*"})
    if not report.valid:
        writer.abort()
        write_record(store, report_name, doc, **claim)
        return _outcome(OutcomeStatus.REJECTED, doc.reason(), name, report=report_name)

    try:
        write_record(store, report_name, doc, **claim)
        if eval_name is not None:
            # Before the JSONL, so the split of a version exists before it trains; it is
            # tied to the source version like the JSONL (a newer upload overwrites both).
            store.put_bytes(eval_name, held_out.getvalue(), content_type=JSONL_CONTENT_TYPE,
                            metadata={META_SOURCE_OBJECT: name, META_SOURCE_ETAG: etag})
    except BaseException:
        writer.abort()
        raise
    try:
        if existing is None:
            out_etag = writer.commit(if_none_match="*")
        else:
            out_etag = writer.commit(if_match=existing.etag)
    except PreconditionFailed:
        # Another delivery won the race; it is only a duplicate if it wrote our version.
        now = store.head(out_name)
        if now is not None and now.metadata.get(META_SOURCE_ETAG) == etag:
            return _outcome(OutcomeStatus.DUPLICATE, "a concurrent delivery converted it",
                            name, output=out_name)
        raise
    except Exception as exc:
        if classify(exc) is not ErrorKind.PERMANENT:
            raise
        return _refuse(ctx, name, etag, dataset, "refused_by_oci",
                       f"Object Storage refused the training JSONL: {describe(exc)}")
    log.info("dataset converted", extra={"output": out_name, "records_written":
                                         doc.records_written, "output_etag": out_etag})
    return _outcome(OutcomeStatus.DONE, "converted", name, output=out_name, report=report_name,
                    records_written=doc.records_written)


def _reject_collision(ctx: StageContext, dataset: str, name: str, etag: str,
                      owner: str) -> Outcome:
    """``name`` maps to a dataset another raw object owns: report it, overwrite nothing."""
    doc = identity.collision_report(dataset, name, etag, owner)
    report = identity.collision_report_object(ctx.settings, name)
    log.warning("dataset name collision", extra={"object": name, "owner": owner})
    if naming.too_long(report):
        return _outcome(OutcomeStatus.REJECTED, doc.reason(), name, owner=owner)
    write_record(ctx.store, report, doc)
    return _outcome(OutcomeStatus.REJECTED, doc.reason(), name, report=report, owner=owner)


def _source_missing(ctx: StageContext, name: str) -> Outcome:
    """GetObject said 404: the object is gone, or this function may not read it.

    OCI answers 404 NotAuthorizedOrNotFound for both; listing (which needs only
    ``inspect objects``) tells them apart.
    """
    try:
        listed = ctx.store.listed_etag(name)
    except Exception as exc:
        if not not_found(exc):
            raise
        raise ConfigurationError(
            f"cannot read or list bucket {ctx.store.bucket!r} ({describe(exc)}): the bucket is "
            "gone, or the convert function lacks 'inspect objects' and 'read objects' on it "
            "(see deploy/iam/convert.json)") from None
    if listed is not None:
        raise ConfigurationError(
            f"{name!r} exists but the convert function may not read it: grant 'read objects' "
            f"where target.object.name = /{ctx.settings.raw_prefix}*/ (deploy/iam/convert.json)")
    return _outcome(OutcomeStatus.REJECTED,
                    f"source object {name!r} no longer exists; nothing converted", name)


def _refuse(ctx: StageContext, name: str, etag: str, dataset: str, code: str,
            message: str) -> Outcome:
    """Record a conversion that can never succeed in the report (when it can be written)."""
    report_name = naming.report_object(ctx.settings, dataset)
    log.warning("dataset refused", extra={"code": code})
    if naming.too_long(report_name):
        return _outcome(OutcomeStatus.REJECTED, message, name)
    write_record(ctx.store, report_name, DatasetReport.refusal(
        dataset, name, etag, code, message, base_model=ctx.settings.base_model))
    return _outcome(OutcomeStatus.REJECTED, message, name, report=report_name)
