"""Endpoint stage: the watcher hands a dataset over -> host the fine-tuned model, or record
its failure.

The hand-off is only a hint: the status object and the model's real state are
read back from the API. Acts on MODEL_ACTIVE (and PENDING_HOSTING_CLUSTER,
when the watcher resumes), MODEL_FAILED and ready cluster releases; any other
state is SKIPPED. Idempotency: an existing endpoint is found by tags
(``ocift-model-id``), creates carry an ``opc-retry-token`` from the model id,
and status writes are conditional, so a second event never makes a second
endpoint.
"""

from __future__ import annotations

from typing import Any

from shared import base_model_lifecycle, genai, logs, naming, notify, retire, tags
from shared.errors import ErrorKind, classify, describe, not_found
from shared.events import ObjectEvent
from shared.lifecycle import Lifecycle
from shared.outcome import Outcome, OutcomeStatus
from shared.settings import Stage
from shared.stages.context import StageContext, read_status, write_status
from shared.status import DatasetState, DatasetStatus, utcnow

log = logs.get_logger("ocift.endpoint")

ACTIONABLE = (DatasetState.MODEL_ACTIVE, DatasetState.PENDING_HOSTING_CLUSTER,
              DatasetState.MODEL_FAILED)


def _outcome(status: OutcomeStatus, reason: str, obj: str | None, **details: Any) -> Outcome:
    return Outcome.of(Stage.ENDPOINT.value, status, reason, obj, **details)


def on_handoff(ctx: StageContext, event: ObjectEvent, dataset: str) -> Outcome:
    """The watcher handed ``dataset`` over (model ACTIVE or FAILED, hosting cluster ACTIVE, a
    release ready, reconcile): act on what its status says."""
    return ensure_endpoint(ctx, dataset)


def ensure_endpoint(ctx: StageContext, dataset: str) -> Outcome:
    """Bring ``dataset`` from MODEL_ACTIVE to ENDPOINT_CREATING (or record a failure)."""
    name = naming.status_object(ctx.settings, dataset)
    current = read_status(ctx, dataset)
    if current is None:
        return _outcome(OutcomeStatus.SKIPPED, "no status object", name)
    status, etag = current
    if any(r.ready for r in status.releases):
        status, new_etag = retire.process_releases(ctx, status, etag)
        if new_etag is None:
            return _outcome(OutcomeStatus.SKIPPED, "status changed under us; next event acts",
                            name)
        etag = new_etag
    if status.state is DatasetState.ENDPOINT_ACTIVE:
        retired, _ = retire.retire_superseded(ctx, status, etag)
        if retired:
            return _outcome(OutcomeStatus.DONE, "superseded endpoints retired", name,
                            retired=retired)
        return _outcome(OutcomeStatus.SKIPPED, "serving; nothing superseded", name)
    if status.state is DatasetState.MODEL_ACTIVE and status.unserved:
        return _outcome(OutcomeStatus.SKIPPED, f"not served ({status.unserved}): "
                        "`ocift serve` hosts it again", name)
    if status.state not in ACTIONABLE or not status.model_id:
        return _outcome(OutcomeStatus.SKIPPED, f"state {status.state.value}: nothing to do", name)
    try:
        model = ctx.genai.get_model(status.model_id).data
    except Exception as exc:
        gone = not_found(exc) and _model_unlisted(ctx, status)
        if classify(exc, confirmed_gone=gone) is ErrorKind.GONE:
            reason = f"model {status.model_id} no longer exists"
            write_status(ctx, status.moved_to(DatasetState.ENDPOINT_FAILED, reason,
                                              reason=reason), etag)
            return _outcome(OutcomeStatus.REJECTED, reason, name)
        raise
    if not tags.matches(model.freeform_tags, pipeline=ctx.settings.pipeline_name,
                        role=tags.ROLE_MODEL):
        return _outcome(OutcomeStatus.SKIPPED, "model was not created by this pipeline", name)
    if status.state is DatasetState.MODEL_FAILED:
        return _record_failure(ctx, status, etag, model, name)
    if model.lifecycle_state != Lifecycle.ACTIVE:
        return _outcome(OutcomeStatus.SKIPPED, f"model is {model.lifecycle_state}", name)
    try:
        return _host(ctx, dataset, status, etag, model, name)
    except Exception as exc:
        if classify(exc) is ErrorKind.PERMANENT:
            return _fail_endpoint(ctx, status, etag, describe(exc), name)
        raise


def _model_unlisted(ctx: StageContext, status: DatasetStatus) -> bool:
    """True when the dataset's model listing (which this function may make) lacks the model.

    A 404 on GetModel alone is not proof of deletion (OCI answers it for a missing
    grant too, shared/errors.py); a live listing without the model is.
    """
    return all(m.id != status.model_id
               for m in genai.dataset_models(ctx.genai, ctx.settings, status.dataset))


def _fail_endpoint(ctx: StageContext, status: DatasetStatus, etag: str, reason: str,
                   name: str) -> Outcome:
    write_status(ctx, status.moved_to(DatasetState.ENDPOINT_FAILED, reason, reason=reason), etag)
    notify.publish(ctx.settings, f"ocift: endpoint for {status.dataset} failed", reason)
    return _outcome(OutcomeStatus.REJECTED, reason, name)


def _host(ctx: StageContext, dataset: str, status: DatasetStatus, etag: str, model: Any,
          name: str) -> Outcome:
    settings = ctx.settings
    existing, gone = genai.model_endpoints(ctx.genai, settings, dataset, model.id)
    if existing is not None:
        if status.endpoint_id != existing.id:
            write_status(ctx, status.moved_to(
                DatasetState.ENDPOINT_CREATING, "endpoint found by tags",
                endpoint_id=existing.id, endpoint_state=existing.lifecycle_state,
                hosting_cluster_id=existing.dedicated_ai_cluster_id), etag)
        return _outcome(OutcomeStatus.DUPLICATE, "the model already has an endpoint", name,
                        endpoint_id=existing.id)
    base_name = status.base_model or (model.freeform_tags or {}).get(tags.BASE_MODEL, "")
    verdict = base_model_lifecycle.judge(  # before a hosting cluster is paid for
        genai.base_model(ctx.genai, settings, status.base_model_id, base_name))
    if verdict.retired:
        raise genai.PermanentError(verdict.message)
    warned = {"base_model_warning": verdict.warning}
    family = genai.family_of(base_name)
    stacked = genai.shares_hosting(family, status.training_method)
    cluster = genai.ensure_cluster(ctx.genai, settings, genai.HOSTING, family,
                                   model_id=None if stacked else model.id)
    if not cluster.active:
        if not (status.state is DatasetState.PENDING_HOSTING_CLUSTER
                and status.hosting_cluster_id == cluster.id):
            write_status(ctx, status.moved_to(
                DatasetState.PENDING_HOSTING_CLUSTER, f"waiting for hosting cluster {cluster.id}",
                hosting_cluster_id=cluster.id, cluster_state=cluster.state, **warned), etag)
        return _outcome(OutcomeStatus.PENDING, f"hosting cluster is {cluster.state}", name,
                        cluster_id=cluster.id)
    endpoint = genai.create_endpoint(
        ctx.genai, settings, dataset=dataset, model=model, cluster_id=cluster.id,
        content_moderation=status.spec.content_moderation if status.spec else None, gone=gone)
    new = status.moved_to(DatasetState.ENDPOINT_CREATING, f"endpoint {endpoint.id}",
                          endpoint_id=endpoint.id, endpoint_state=endpoint.lifecycle_state,
                          hosting_cluster_id=cluster.id, model_state=model.lifecycle_state,
                          **warned)
    if write_status(ctx, new, etag) is None:
        return _outcome(OutcomeStatus.DUPLICATE, "a concurrent call recorded the endpoint", name,
                        endpoint_id=endpoint.id)
    log.info("endpoint creating", extra={"dataset": dataset, "model_id": model.id,
                                         "endpoint_id": endpoint.id})
    return _outcome(OutcomeStatus.DONE, "endpoint creating", name, endpoint_id=endpoint.id)


def _record_failure(ctx: StageContext, status: DatasetStatus, etag: str, model: Any,
                    name: str) -> Outcome:
    changes: dict[str, Any] = {}
    if not status.reason:
        changes["reason"] = model.lifecycle_details or "training failed"
    reason = changes.get("reason", status.reason)
    if (ctx.settings.notification_topic_id and status.notified_at is None
            and notify.publish(ctx.settings, f"ocift: training of {status.dataset} failed",
                               f"model {model.id}: {reason}")):
        changes["notified_at"] = utcnow()
    if not changes:
        return _outcome(OutcomeStatus.SKIPPED, "failure already recorded", name)
    write_status(ctx, status.moved_to(DatasetState.MODEL_FAILED, **changes), etag)
    return _outcome(OutcomeStatus.DONE, f"failure recorded: {reason}", name)
