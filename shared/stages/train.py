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

from shared import base_model_lifecycle, genai, identity, logs, naming, tags
from shared.events import ObjectEvent
from shared.lifecycle import Lifecycle
from shared.outcome import Outcome, OutcomeStatus
from shared.settings import Stage
from shared.stages.context import StageContext, StatusRead, next_status, read_status, write_status
from shared.stages.guard import is_status_object
from shared.status import DatasetState, DuplicateOf
from shared.storage import ObjectInfo

log = logs.get_logger("ocift.train")

META_SOURCE_ETAG = "source-etag"

MODEL_STATE_TO_DATASET = {
    Lifecycle.CREATING: DatasetState.TRAINING,
    Lifecycle.ACTIVE: DatasetState.MODEL_ACTIVE,
    Lifecycle.FAILED: DatasetState.MODEL_FAILED,
}


def _outcome(status: OutcomeStatus, reason: str, obj: str | None, **details: Any) -> Outcome:
    return Outcome.of(Stage.TRAIN.value, status, reason, obj, **details)


# -- stage entry -------------------------------------------------------------------------------


#: Status states the train stage acts on when a status object changes.
HANDED_TO_TRAIN = (DatasetState.PENDING_CLUSTER, DatasetState.QUEUED)


def train_object(ctx: StageContext, event: ObjectEvent, dataset: str) -> Outcome:
    """A JSONL landed (train it), or a status object changed (resume what it hands over)."""
    if is_status_object(ctx.settings, event.object_name):
        return train_handed_over(ctx, dataset)
    return train_dataset(ctx, dataset, event.etag)


def train_handed_over(ctx: StageContext, dataset: str) -> Outcome:
    """Resume ``dataset`` when its status says the train stage owns the next step.

    The watcher records that the fine-tuning cluster became ACTIVE (PENDING_CLUSTER
    with a new ``cluster_state``), and reconcile queues a JSONL no event trained
    (QUEUED with the JSONL as source); both writes reach this stage.
    """
    name = naming.status_object(ctx.settings, dataset)
    current = read_status(ctx, dataset)
    if current is None:
        return _outcome(OutcomeStatus.SKIPPED, "no status object", name)
    status = current[0]
    queued_jsonl = (status.state is DatasetState.QUEUED and naming.training_dataset(
        ctx.settings, status.source_object or "") == dataset)
    if status.state is not DatasetState.PENDING_CLUSTER and not queued_jsonl:
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
    except genai.PermanentError as exc:
        return _reject(ctx, dataset, info, current, str(exc))
    except Exception as exc:
        if genai.is_permanent(exc):
            return _reject(ctx, dataset, info, current, genai.error_reason(exc))
        raise


def _reject(ctx: StageContext, dataset: str, info: ObjectInfo,
            current: StatusRead | None, reason: str) -> Outcome:
    new, etag = next_status(current, dataset, DatasetState.REJECTED, reason, reason=reason,
                      source_object=info.name, source_etag=info.etag, model_id=None,
                      work_request_id=None, endpoint_id=None)
    write_status(ctx, new, etag)
    log.warning("dataset rejected", extra={"dataset": dataset, "reason": reason})
    return _outcome(OutcomeStatus.REJECTED, reason, info.name)


def _train(ctx: StageContext, dataset: str, info: ObjectInfo,
           current: StatusRead | None) -> Outcome:
    settings = ctx.settings
    examples, sha256 = validated_dataset(ctx, dataset, info)
    models = genai.dataset_models(ctx.genai, settings, dataset)
    same = [m for m in models if (m.freeform_tags or {}).get(tags.SOURCE_ETAG) == info.etag]
    if same:
        model = max(same, key=genai.version_of)
        record_model(ctx, dataset, model, current, work_request_id=None)
        return _outcome(OutcomeStatus.DUPLICATE, "a model was already created for this version",
                        info.name, model_id=model.id)
    model_now = current_model(models)
    if sha256 and model_now is not None and (
            (model_now.freeform_tags or {}).get(tags.CONTENT_SHA256) == sha256):
        return _record_duplicate(ctx, dataset, info, current, model_now, sha256)
    version = max((genai.version_of(m) for m in models), default=0) + 1
    base = genai.resolve_base_model(ctx.genai, settings)
    verdict = base_model_lifecycle.judge(base.model)  # before anything billable
    if verdict.retired:
        raise genai.PermanentError(verdict.message)
    family = genai.family_of(base.name)
    method = genai.choose_method(settings, family, examples)
    genai.check_hyperparameters(settings, family, method)
    cluster = genai.ensure_cluster(ctx.genai, settings, genai.FINE_TUNING, family)
    common: dict[str, Any] = {
        "reason": "", "base_model_warning": verdict.warning,
        "source_object": info.name, "source_etag": info.etag,
        "base_model": base.name, "base_model_id": base.id, "training_method": method.value,
        "finetuning_cluster_id": cluster.id, "content_sha256": sha256, "duplicate_of": None,
    }
    if not cluster.active:
        if not (current and current[0].state is DatasetState.PENDING_CLUSTER
                and current[0].source_etag == info.etag
                and current[0].finetuning_cluster_id == cluster.id):
            new, etag = next_status(current, dataset, DatasetState.PENDING_CLUSTER,
                              f"waiting for fine-tuning cluster {cluster.id}", model_id=None,
                              work_request_id=None, endpoint_id=None,
                              cluster_state=cluster.state, **common)
            write_status(ctx, new, etag)
        return _outcome(OutcomeStatus.PENDING, f"fine-tuning cluster is {cluster.state}",
                        info.name, cluster_id=cluster.id)
    model, wr_id = genai.create_model(
        ctx.genai, settings, dataset=dataset, source_object=info.name, source_etag=info.etag,
        base=base, cluster_id=cluster.id, method=method, version=version,
        content_sha256=sha256)
    for _attempt in range(3):
        new, etag = next_status(current, dataset, DatasetState.TRAINING, f"model version {version}",
                          model_id=model.id, model_version=str(version),
                          model_state=model.lifecycle_state, work_request_id=wr_id or None,
                          percent_complete=0.0, endpoint_id=None, endpoint_state=None,
                          hosting_cluster_id=None, model_metrics=None, **common)
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


def record_model(ctx: StageContext, dataset: str, model: Any,
                 current: StatusRead | None,
                 work_request_id: str | None) -> None:
    """Make the status object describe ``model`` (rebuild from its tags) if it does not."""
    if current is not None and current[0].model_id == model.id:
        return
    model_tags = model.freeform_tags or {}
    state = MODEL_STATE_TO_DATASET.get(model.lifecycle_state, DatasetState.TRAINING)
    new, etag = next_status(current, dataset, state, "rebuilt from the model's tags",
                      model_id=model.id, model_version=str(model.version),
                      model_state=model.lifecycle_state,
                      source_object=model_tags.get(tags.SOURCE_OBJECT),
                      source_etag=model_tags.get(tags.SOURCE_ETAG),
                      base_model=model_tags.get(tags.BASE_MODEL),
                      work_request_id=work_request_id, endpoint_id=None,
                      reason=(model.lifecycle_details or "training failed")
                      if state is DatasetState.MODEL_FAILED else "")
    write_status(ctx, new, etag)


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
        record_model(ctx, dataset, model, current, work_request_id=None)
        current = read_status(ctx, dataset)
    if current is not None:
        status, etag = current
        write_status(ctx, status.moved_to(status.state, detail, source_object=info.name,
                                          source_etag=info.etag, duplicate_of=note), etag)
    log.info("duplicate dataset content", extra={"dataset": dataset, "model_id": model.id})
    return _outcome(OutcomeStatus.DUPLICATE, detail, info.name, model_id=model.id)


def validated_dataset(ctx: StageContext, dataset: str, info: ObjectInfo) -> tuple[int, str | None]:
    """``(examples, SHA-256 of the JSONL)`` of a valid JSONL; PermanentError when invalid.

    The convert stage's report is used when it describes this JSONL's source
    version (its ``output_sha256``; None from reports older than issue 13); a
    directly dropped JSONL is validated by streaming it through the converter
    (bounded memory, hashed on the way) and its report written.
    """
    settings = ctx.settings
    report_name = naming.report_object(settings, dataset)
    got = ctx.store.read_json(report_name)
    versions = {info.etag, info.metadata.get(META_SOURCE_ETAG)} - {None, ""}
    if got is not None and isinstance(got[0], dict) and got[0].get("source_etag") in versions:
        doc = got[0]
    else:
        doc = _validate(ctx, dataset, info)
        ctx.store.put_json(report_name, doc)
    if not doc.get("valid"):
        raise genai.PermanentError(f"dataset is invalid: {_report_reason(doc)} "
                                   f"(see {report_name})")
    sha = doc.get("output_sha256")
    return int(doc.get("records_written") or 0), sha if isinstance(sha, str) else None


def _validate(ctx: StageContext, dataset: str, info: ObjectInfo) -> dict[str, Any]:
    from shared.convert import DatasetRules, convert_stream

    settings = ctx.settings
    _, stream = ctx.store.open(info.name, if_match=info.etag)
    with stream:
        hashed = identity.HashingReader(stream)
        report = convert_stream(hashed, None, source=info.name,
                                rules=DatasetRules.for_base_model(settings.base_model))
    doc: dict[str, Any] = report.model_dump(mode="json")
    not_as_is = _not_trainable_as_is(doc) if report.valid else None
    if not_as_is is not None:
        doc.update({"valid": False, "fatal": not_as_is})
    doc.update({"dataset": dataset, "source_object": info.name, "source_etag": info.etag,
                "source_size": info.size, "output_object": info.name if doc["valid"] else None,
                "base_model": settings.base_model, "validated_by": Stage.TRAIN.value,
                "output_sha256": hashed.hexdigest() if doc["valid"] else None})
    return doc


#: Skip reasons the converter can clean up but OCI rejects when the file is trained as-is.
#: (Duplicates are cleaned by the converter too, but OCI accepts them.)
REJECTED_AS_IS = frozenset({"not_an_object", "missing_field", "non_string_field", "empty_field",
                            "invalid_unicode", "record_too_long"})


def _not_trainable_as_is(doc: dict[str, Any]) -> dict[str, Any] | None:
    """Why a directly dropped JSONL, trained byte for byte, would fail at OCI (or ``None``).

    The converter skips bad records when it writes a JSONL; a dropped JSONL is not
    rewritten, so any record OCI refuses, or extra keys beside prompt/completion,
    fail the whole training run. Say so before a cluster is paid for.
    """
    skipped = {reason: n for reason, n in (doc.get("skipped_by_reason") or {}).items()
               if reason in REJECTED_AS_IS and n}
    extra = int(doc.get("records_with_extra_keys") or 0)
    if not skipped and not extra:
        return None
    problems = [f"{n} record(s) {reason.replace('_', ' ')}"
                for reason, n in sorted(skipped.items())]
    if extra:
        problems.append(f"{extra} record(s) with keys other than prompt/completion")
    first = (doc.get("skipped_examples") or [{}])[0]
    return {
        "code": "not_trainable_as_is",
        "message": "OCI would reject this JSONL as uploaded: " + "; ".join(problems),
        "record_index": first.get("record_index"), "line": first.get("line"),
        "byte_offset": first.get("byte_offset"),
        "hint": "fix those lines, or upload the file under the raw/ prefix so the convert "
                "stage writes a clean training JSONL",
    }


def _report_reason(doc: dict[str, Any]) -> str:
    fatal = doc.get("fatal") or doc.get("error")
    if isinstance(fatal, dict):
        return str(fatal.get("message") or fatal.get("code") or "invalid")
    return str(fatal) if fatal else "invalid"
