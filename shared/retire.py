"""Retiring what a new model version superseded, and deleting clusters nothing uses.

Runs in the endpoint stage (the only stage granted DeleteEndpoint and
DeleteDedicatedAiCluster, narrowed by ``request.permission`` in ``deploy/iam/endpoint.json``):

* :func:`retire_superseded` -- once the dataset's new endpoint is ACTIVE *and answers*
  (one tiny inference call), its older endpoints beyond ``OCIFT_KEEP_ENDPOINTS`` are
  deleted. The old endpoint serves until then, so inference has no gap. A retired
  endpoint's model had a hosting cluster of its own when its family cannot stack
  versions (OCI: one hosting cluster serves one base model or one custom model, except
  T-Few versions of the retired ``cohere.command(-light)``: "Model Limitations",
  https://docs.oracle.com/iaas/Content/generative-ai/limitations.htm); that cluster is
  recorded as a :class:`~shared.status.ClusterRelease` waiting for the endpoint to be gone.
* :func:`process_releases` -- deletes each release the watcher marked ready, after
  checking again that the cluster carries this pipeline's tags, is not a cluster the
  user configured (``OCIFT_FINETUNING_CLUSTER_ID`` / ``OCIFT_HOSTING_CLUSTER_ID``), and
  (OCI answers 409 otherwise) has no endpoint or fine-tuning job left.
"""

from __future__ import annotations

from typing import Any

from shared import billing, clients, genai, logs, naming, tags
from shared.errors import ErrorKind, classify, describe, incorrect_state, not_found
from shared.lifecycle import Lifecycle
from shared.settings import Settings
from shared.stages.context import StageContext, write_status
from shared.status import ClusterRelease, DatasetStatus

log = logs.get_logger("ocift.retire")


def user_clusters(settings: Settings) -> set[str]:
    """Clusters the user configured: never deleted by the pipeline."""
    return {c for c in (settings.finetuning_cluster_id, settings.hosting_cluster_id) if c}


def probe(settings: Settings, endpoint_id: str, base_model: str) -> None:
    """One minimal Chat call (the only inference API today); raises unless the endpoint answers."""
    from shared.infer.models import InferRequest
    from shared.infer.shapes import build_details, shape_for

    shape = shape_for(base_model)
    req = InferRequest(prompt="ping", max_tokens=1)
    details = build_details(req, shape, endpoint_id, str(settings.compartment_id))
    clients.generative_ai_inference(settings).chat(details)


def _dataset_endpoints(ctx: StageContext, dataset: str) -> list[Any]:
    found = []
    for item in genai.list_all(ctx.genai.list_endpoints, ctx.settings.compartment_id,
                               display_name=naming.display_name(dataset)):
        if (tags.matches(item.freeform_tags, pipeline=ctx.settings.pipeline_name,
                         role=tags.ROLE_ENDPOINT, dataset=dataset)
                and item.lifecycle_state in billing.LIVE_ENDPOINT_STATES):
            found.append(item)
    return found


def superseded(endpoints: list[Any], current_id: str, keep: int) -> list[Any]:
    """Endpoints created before ``current_id`` beyond the ``keep - 1`` newest of them."""
    current = next((e for e in endpoints if e.id == current_id), None)
    if current is None:
        return []
    older = sorted((e for e in endpoints if e.id != current_id
                    and e.time_created <= current.time_created),
                   key=lambda e: e.time_created, reverse=True)
    return older[max(keep - 1, 0):]


def _own_cluster(ctx: StageContext, endpoint: Any) -> str | None:
    """The hosting cluster made for ``endpoint``'s model alone (not shared), if any."""
    # No 404 is taken as "gone" here: a cluster cannot be deleted while an endpoint is on
    # it, so a 404 is a missing grant (shared/errors.py) and is raised.
    cluster = ctx.genai.get_dedicated_ai_cluster(endpoint.dedicated_ai_cluster_id).data
    if (billing.ours(cluster, ctx.settings, tags.ROLE_HOSTING_CLUSTER)
            and (cluster.freeform_tags or {}).get(tags.MODEL_ID) == endpoint.model_id
            and cluster.id not in user_clusters(ctx.settings)):
        return str(cluster.id)
    return None


def retire_superseded(ctx: StageContext, status: DatasetStatus,
                      etag: str) -> tuple[list[str], str | None]:
    """Delete the dataset's superseded endpoints; ``(retired ids, new status ETag)``."""
    current_id = status.endpoint_id
    if not current_id or status.retired_for_endpoint == current_id:
        return [], etag
    endpoints = _dataset_endpoints(ctx, status.dataset)
    old = superseded(endpoints, current_id, ctx.settings.keep_endpoints)
    if not old:
        return [], etag
    current = next(e for e in endpoints if e.id == current_id)
    if current.lifecycle_state != Lifecycle.ACTIVE:
        return [], etag
    probe(ctx.settings, current_id, status.base_model or "")  # raises: retried, nothing retired
    releases = list(status.releases)
    for endpoint in old:
        cluster_id = None if endpoint.dedicated_ai_cluster_id == current.dedicated_ai_cluster_id \
            else _own_cluster(ctx, endpoint)
        try:
            ctx.genai.delete_endpoint(endpoint.id)
        except Exception as exc:
            if not incorrect_state(exc):  # IncorrectState: already deleting
                raise
        if cluster_id and all(r.cluster_id != cluster_id for r in releases):
            releases.append(ClusterRelease(
                cluster_id=cluster_id, wait_for=[endpoint.id],
                reason=f"hosting cluster of superseded model {endpoint.model_id}"))
    retired = [e.id for e in old]
    log.info("superseded endpoints retired", extra={"dataset": status.dataset,
                                                    "endpoint_id": current_id,
                                                    "retired": len(retired)})
    new_etag = write_status(ctx, status.moved_to(
        status.state, f"endpoint {current_id} answers; retired superseded endpoint(s) "
        + ", ".join(retired), retired_for_endpoint=current_id, releases=releases), etag)
    return retired, new_etag


def process_releases(ctx: StageContext, status: DatasetStatus,
                     etag: str) -> tuple[DatasetStatus, str | None]:
    """Delete every ready release's cluster; the status (and ETag) after recording it."""
    if not any(r.ready for r in status.releases):
        return status, etag
    keep: list[ClusterRelease] = []
    done: list[str] = []
    for release in status.releases:
        if not release.ready:
            keep.append(release)
            continue
        done.append(f"{release.cluster_id}: {_release(ctx, release)}")
    new = status.moved_to(status.state, "; ".join(done), releases=keep)
    return new, write_status(ctx, new, etag)


def _release(ctx: StageContext, release: ClusterRelease) -> str:
    try:
        cluster = ctx.genai.get_dedicated_ai_cluster(release.cluster_id).data
    except Exception as exc:
        # An earlier attempt may have deleted it; a 404 is "gone" only if the listing agrees.
        gone = not_found(exc) and not genai.cluster_listed(ctx.genai, ctx.settings,
                                                           release.cluster_id)
        if classify(exc, confirmed_gone=gone) is ErrorKind.GONE:
            return "already gone"
        raise
    if cluster.lifecycle_state in (Lifecycle.DELETING, Lifecycle.DELETED):
        return "already deleted"
    if (not billing.ours(cluster, ctx.settings, *billing.CLUSTER_ROLES)
            or cluster.id in user_clusters(ctx.settings)):
        return "not the pipeline's own cluster: kept"
    try:
        ctx.genai.delete_dedicated_ai_cluster(cluster.id)
    except Exception as exc:
        # 409 IncorrectState (busy) or Conflict (endpoints still on it): kept; a 404 right
        # after a successful read is a missing delete grant, raised.
        if incorrect_state(exc) or classify(exc) is ErrorKind.PERMANENT:
            return f"still in use ({describe(exc)}): kept"
        raise
    log.info("cluster deleted", extra={"cluster_id": cluster.id, "reason": release.reason})
    return f"deleted ({release.reason})"
