"""Record what was deleted under a dataset: status is read from the cloud, not remembered.

A serving dataset whose endpoint is deleted (``ocift down``, the Console) would otherwise
keep saying ENDPOINT_ACTIVE for ever: ENDPOINT_ACTIVE is terminal, so the tick never looks
at it again. :func:`record_deleted` compares every dataset's recorded endpoint with one
ListEndpoints (and the models with one ListModels): a listing that lacks the endpoint, or
shows it DELETING/DELETED, is proof it is gone (``shared/errors.py``: a bare 404 is not).

* the model is still ACTIVE -> MODEL_ACTIVE, no endpoint, ``unserved`` says why; nothing
  creates an endpoint again until ``ocift serve DATASET`` (so ``ocift down`` is never
  undone by the next reconcile);
* the model is gone too -> ENDPOINT_FAILED with the reason (a new upload trains again).

Run by reconcile (the watch function's first call and every 15 minutes, ``ocift
reconcile``) and by ``ocift down --yes`` right after its deletes. The listing calls are
ListEndpoints and ListModels of the Generative AI API
(https://docs.oracle.com/iaas/api/#/en/generative-ai/20231130/Endpoint/ListEndpoints).
"""

from __future__ import annotations

from typing import Any

from shared import genai
from shared.lifecycle import REMOVED, Lifecycle
from shared.stages.context import StageContext, write_status
from shared.stages.watch.common import statuses
from shared.status import DatasetState, DatasetStatus

#: States whose endpoint was seen by the watcher (GetEndpoint) before: one a listing lacks
#: was deleted. ENDPOINT_CREATING is the tick's (a GetEndpoint each tick), and a listing may
#: not show an endpoint created a moment ago.
WITH_ENDPOINT = frozenset({DatasetState.ENDPOINT_ACTIVE, DatasetState.ENDPOINT_FAILED})


def listed_states(items: list[Any]) -> dict[str, str]:
    """Id -> lifecycle state of a listing."""
    return {item.id: str(item.lifecycle_state or "") for item in items}


def endpoint_gone(status: DatasetStatus, endpoints: dict[str, str]) -> str | None:
    """How ``status``'s endpoint is gone (``"DELETED"``), or None while it exists."""
    if status.state not in WITH_ENDPOINT or not status.endpoint_id:
        return None
    state = endpoints.get(status.endpoint_id)
    if state is None:
        return Lifecycle.DELETED.value  # the listing lacks it: deleted (and purged)
    return state if state in REMOVED else None


def moved_for_deleted(status: DatasetStatus, endpoints: dict[str, str],
                      models: dict[str, str]) -> DatasetStatus | None:
    """The status that says what remains after ``status``'s endpoint went, or None."""
    gone = endpoint_gone(status, endpoints)
    if gone is None:
        return None
    what = f"endpoint {status.endpoint_id} {gone}"
    if status.model_id and models.get(status.model_id) == Lifecycle.ACTIVE.value:
        why = f"{what} (deleted outside the pipeline, e.g. ocift down)"
        return status.moved_to(DatasetState.MODEL_ACTIVE, f"{why}; the model is kept",
                               unserved=why, model_state=Lifecycle.ACTIVE.value)
    model = models.get(status.model_id or "", Lifecycle.DELETED.value)
    reason = (f"{what} and model {status.model_id} {model}: upload the dataset again to "
              "train a new version")
    if status.state is DatasetState.ENDPOINT_FAILED and status.reason == reason:
        return None
    return status.moved_to(DatasetState.ENDPOINT_FAILED, reason, reason=reason,
                           endpoint_state=gone, model_state=model)


def record_deleted(ctx: StageContext, quarantined: list[str] | None = None) -> list[str]:
    """Rewrite the status of every dataset whose endpoint is gone; what was done
    (a status that does not parse is quarantined and named in ``quarantined``)."""
    cid = ctx.settings.compartment_id
    found = statuses(ctx, quarantined)  # first: a listing taken after shows what they name
    if not any(st.state in WITH_ENDPOINT and st.endpoint_id for st, _ in found.values()):
        return []
    endpoints = listed_states(list(genai.list_all(ctx.genai.list_endpoints, cid)))
    models = listed_states(list(genai.list_all(ctx.genai.list_models, cid)))
    actions = []
    for dataset, (status, etag) in sorted(found.items()):
        moved = moved_for_deleted(status, endpoints, models)
        if moved is not None and write_status(ctx, moved, etag) is not None:
            actions.append(f"{dataset}: {moved.state.value} ({moved.history[-1].detail})")
    return actions
