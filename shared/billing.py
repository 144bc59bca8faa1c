"""Billable resources of the pipeline, found by its tags, who holds them, and what is idle.

One implementation for ``ocift status``, ``ocift down``, the web page and the watcher.

OCI bills dedicated AI clusters per unit-hour while they exist ("Paying for Dedicated AI
Clusters", https://docs.oracle.com/iaas/Content/generative-ai/pay-dedicated.htm, linked
from https://docs.oracle.com/en-us/iaas/Content/generative-ai/pay-on-demand.htm);
endpoints run on a hosting cluster and are not billed on their own, and a custom model
costs nothing while no cluster serves or trains it. Unit-hours here are
``units x hours since creation`` for clusters that still exist: what the cost view would
attribute as far as the API can tell. The documented minimum commitments (a hosting
cluster is billed at least 744 unit-hours; a fine-tuning cluster at least one unit-hour
per fine-tuning job) are *not* added here: the figure is usage so far, and
``MINIMUM_UNIT_HOURS`` is what the docs and ``ocift down`` quote beside it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, computed_field

from shared import genai, tags
from shared.settings import Settings

GONE_STATES = ("DELETED", "FAILED")
LIVE_ENDPOINT_STATES = ("CREATING", "ACTIVE", "UPDATING")
FINETUNING_CLUSTER = "fine-tuning cluster"
HOSTING_CLUSTER = "hosting cluster"
ENDPOINT = "endpoint"
MODEL = "model"

#: Minimum unit-hours OCI bills per cluster type (pay-dedicated.htm, above): a hosting
#: cluster commits to 744 unit-hours (a month of one unit); a fine-tuning cluster to one
#: unit-hour per fine-tuning job. Quoted, never added to usage figures.
MINIMUM_UNIT_HOURS = {HOSTING_CLUSTER: 744.0, FINETUNING_CLUSTER: 1.0}


class Resource(BaseModel):
    """A pipeline resource found by its tags; clusters are what OCI bills per unit-hour."""

    id: str
    kind: str  # "fine-tuning cluster" | "hosting cluster" | "endpoint" | "model"
    name: str = ""
    state: str = ""
    shape: str | None = None
    units: int | None = None
    created: datetime | None = None
    hours: float | None = None  # since creation, while it exists
    unit_hours: float | None = None  # units x hours; None for endpoints (their cluster bills)
    datasets: list[str] = Field(default_factory=list)  # who holds it
    idle: bool = False  # a cluster nothing serves or trains on

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unit_hours_text(self) -> str:
        """``unit_hours`` as every view prints it (:func:`format_unit_hours`)."""
        return format_unit_hours(self.unit_hours)


@dataclass
class Inventory:
    """The pipeline's models, endpoints and clusters (one listing of each)."""

    models: list[Any] = field(default_factory=list)
    endpoints: list[Any] = field(default_factory=list)
    clusters: list[Any] = field(default_factory=list)

    def dataset_models(self, dataset: str) -> list[Any]:
        return [m for m in self.models
                if (m.freeform_tags or {}).get(tags.DATASET) == dataset]


def ours(item: Any, settings: Settings, *roles: str) -> bool:
    """True when ``item`` carries this pipeline's tags with one of ``roles``."""
    found = item.freeform_tags or {}
    return found.get(tags.PIPELINE) == settings.pipeline_name and found.get(tags.ROLE) in roles


CLUSTER_ROLES = (tags.ROLE_FINETUNING_CLUSTER, tags.ROLE_HOSTING_CLUSTER)


def read_inventory(client: Any, settings: Settings) -> Inventory:
    """List the compartment's models, endpoints and clusters; keep the pipeline's."""
    settings.require("compartment_id")
    cid = settings.compartment_id
    return Inventory(
        models=[m for m in genai.list_all(client.list_models, cid)
                if ours(m, settings, tags.ROLE_MODEL)],
        endpoints=[e for e in genai.list_all(client.list_endpoints, cid)
                   if ours(e, settings, tags.ROLE_ENDPOINT)],
        clusters=[c for c in genai.list_all(client.list_dedicated_ai_clusters, cid)
                  if ours(c, settings, *CLUSTER_ROLES)])


def _aware(when: datetime | None) -> datetime | None:
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _hours(created: datetime | None, now: datetime) -> float | None:
    created = _aware(created)
    if created is None:
        return None
    return max((now - created).total_seconds(), 0.0) / 3600


def _model_cluster(model: Any) -> str | None:
    ft = getattr(model, "fine_tune_details", None)
    return getattr(ft, "dedicated_ai_cluster_id", None)


def holders(inv: Inventory) -> dict[str, set[str]]:
    """Cluster id -> datasets that hold it (endpoints on it, its model, a training on it)."""
    model_dataset = {m.id: (m.freeform_tags or {}).get(tags.DATASET) for m in inv.models}
    held: dict[str, set[str]] = defaultdict(set)
    for ep in inv.endpoints:
        dataset = (ep.freeform_tags or {}).get(tags.DATASET)
        if dataset and ep.lifecycle_state in LIVE_ENDPOINT_STATES:
            held[ep.dedicated_ai_cluster_id].add(dataset)
    for cluster in inv.clusters:
        model_id = (cluster.freeform_tags or {}).get(tags.MODEL_ID)
        if model_id and model_dataset.get(model_id):
            held[cluster.id].add(str(model_dataset[model_id]))
    for model in inv.models:
        cluster_id = _model_cluster(model)
        dataset = (model.freeform_tags or {}).get(tags.DATASET)
        if cluster_id and dataset and model.lifecycle_state == "CREATING":
            held[cluster_id].add(dataset)
    return held


def last_users(inv: Inventory, cluster_id: str) -> set[str]:
    """Datasets that ever used ``cluster_id`` (endpoints in any state, models trained on it)."""
    used = {(e.freeform_tags or {}).get(tags.DATASET) for e in inv.endpoints
            if e.dedicated_ai_cluster_id == cluster_id}
    used |= {(m.freeform_tags or {}).get(tags.DATASET) for m in inv.models
             if _model_cluster(m) == cluster_id}
    return {d for d in used if d}


def idle_since(inv: Inventory, cluster: Any) -> datetime | None:
    """When ``cluster`` last had work (creation, or its latest endpoint/model change), or
    None while it has some (a live endpoint, a training)."""
    if any(e.dedicated_ai_cluster_id == cluster.id and e.lifecycle_state in LIVE_ENDPOINT_STATES
           for e in inv.endpoints):
        return None
    if any(_model_cluster(m) == cluster.id and m.lifecycle_state == "CREATING"
           for m in inv.models):
        return None
    def when(item: Any) -> datetime | None:
        return _aware(getattr(item, "time_updated", None) or getattr(item, "time_created", None))

    times = [_aware(getattr(cluster, "time_created", None))]
    times += [when(e) for e in inv.endpoints if e.dedicated_ai_cluster_id == cluster.id]
    times += [when(m) for m in inv.models if _model_cluster(m) == cluster.id]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def kind_of(cluster: Any) -> str:
    return FINETUNING_CLUSTER if cluster.type == genai.FINE_TUNING else HOSTING_CLUSTER


def resources(inv: Inventory, now: datetime | None = None,
              include_models: bool = False) -> list[Resource]:
    """Every cluster and endpoint of the inventory (and models when asked), with unit-hours."""
    now = now or datetime.now(UTC)
    held = holders(inv)
    out: list[Resource] = []
    for c in inv.clusters:
        live = c.lifecycle_state not in GONE_STATES
        # A deleted cluster's final figure: from creation to its last change (the delete).
        hours = _hours(c.time_created, now if live else
                       _aware(getattr(c, "time_updated", None)) or now)
        out.append(Resource(
            id=c.id, kind=kind_of(c), name=c.display_name or "", state=c.lifecycle_state or "",
            shape=c.unit_shape, units=c.unit_count, created=c.time_created, hours=hours,
            unit_hours=None if hours is None else (c.unit_count or 0) * hours,
            datasets=sorted(held.get(c.id, ())),
            idle=live and idle_since(inv, c) is not None))
    for e in inv.endpoints:
        dataset = (e.freeform_tags or {}).get(tags.DATASET)
        out.append(Resource(
            id=e.id, kind=ENDPOINT, name=e.display_name or "", state=e.lifecycle_state or "",
            created=e.time_created, hours=_hours(e.time_created, now),
            datasets=[dataset] if dataset else []))
    if include_models:
        for m in inv.models:
            dataset = (m.freeform_tags or {}).get(tags.DATASET)
            out.append(Resource(
                id=m.id, kind=MODEL, name=f"{m.display_name or ''} v{m.version}",
                state=m.lifecycle_state or "", created=m.time_created,
                hours=_hours(m.time_created, now), datasets=[dataset] if dataset else []))
    return out


#: States of a resource that no longer exists (or is on its way out): not billable now.
ENDED_STATES = ("DELETING", "DELETED", "FAILED")


def live(found: list[Resource]) -> list[Resource]:
    """The resources that exist now (what is billable); the rest is history."""
    return [r for r in found if r.state not in ENDED_STATES]


def ended(found: list[Resource]) -> list[Resource]:
    """Deleted (or failed) resources, with their final unit-hours."""
    return [r for r in found if r.state in ENDED_STATES]


def by_dataset(found: list[Resource]) -> dict[str, list[Resource]]:
    """Dataset -> the resources it holds."""
    out: dict[str, list[Resource]] = defaultdict(list)
    for res in found:
        for dataset in res.datasets:
            out[dataset].append(res)
    return out


def format_unit_hours(value: float | None) -> str:
    """Unit-hours as every view shows them (``ocift down``, ``ocift status``, the page):
    two decimals, thousands separated; a usage too small for two decimals is ``<0.01``."""
    if value is None:
        return "-"
    if 0 < value < 0.005:
        return "<0.01"
    return f"{value:,.2f}"


def unit_hours(found: list[Resource]) -> float:
    return sum(r.unit_hours or 0.0 for r in found)
