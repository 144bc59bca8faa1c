"""Billable resources of the pipeline, found by its tags, and who holds them.

OCI bills dedicated AI clusters per unit-hour while they exist; endpoints run on
a hosting cluster and are not billed on their own. Unit-hours here are
``units x hours since creation`` for clusters that still exist: what the
console's cost view would attribute, as far as the API can tell.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared import genai, tags
from shared.settings import Settings
from shared.ui.models import Resource

GONE_STATES = ("DELETED", "FAILED")
FINETUNING_CLUSTER = "fine-tuning cluster"
HOSTING_CLUSTER = "hosting cluster"
ENDPOINT = "endpoint"


@dataclass
class Inventory:
    """The pipeline's models, endpoints and clusters (one listing of each)."""

    models: list[Any] = field(default_factory=list)
    endpoints: list[Any] = field(default_factory=list)
    clusters: list[Any] = field(default_factory=list)

    def dataset_models(self, dataset: str) -> list[Any]:
        return [m for m in self.models
                if (m.freeform_tags or {}).get(tags.DATASET) == dataset]


def _ours(item: Any, settings: Settings, *roles: str) -> bool:
    found = item.freeform_tags or {}
    return found.get(tags.PIPELINE) == settings.pipeline_name and found.get(tags.ROLE) in roles


def read_inventory(client: Any, settings: Settings) -> Inventory:
    """List the compartment's models, endpoints and clusters; keep the pipeline's."""
    settings.require("compartment_id")
    cid = settings.compartment_id
    return Inventory(
        models=[m for m in genai.list_all(client.list_models, cid)
                if _ours(m, settings, tags.ROLE_MODEL)],
        endpoints=[e for e in genai.list_all(client.list_endpoints, cid)
                   if _ours(e, settings, tags.ROLE_ENDPOINT)],
        clusters=[c for c in genai.list_all(client.list_dedicated_ai_clusters, cid)
                  if _ours(c, settings, tags.ROLE_FINETUNING_CLUSTER, tags.ROLE_HOSTING_CLUSTER)])


def _hours(created: datetime | None, now: datetime) -> float | None:
    if created is None:
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return max((now - created).total_seconds(), 0.0) / 3600


def _holders(inv: Inventory) -> dict[str, set[str]]:
    """Cluster id -> datasets that hold it (endpoints on it, its model, a training on it)."""
    model_dataset = {m.id: (m.freeform_tags or {}).get(tags.DATASET) for m in inv.models}
    held: dict[str, set[str]] = defaultdict(set)
    for ep in inv.endpoints:
        dataset = (ep.freeform_tags or {}).get(tags.DATASET)
        if dataset and ep.lifecycle_state not in ("DELETED",):
            held[ep.dedicated_ai_cluster_id].add(dataset)
    for cluster in inv.clusters:
        model_id = (cluster.freeform_tags or {}).get(tags.MODEL_ID)
        if model_id and model_dataset.get(model_id):
            held[cluster.id].add(str(model_dataset[model_id]))
    for model in inv.models:
        ft = getattr(model, "fine_tune_details", None)
        cluster_id = getattr(ft, "dedicated_ai_cluster_id", None)
        dataset = (model.freeform_tags or {}).get(tags.DATASET)
        if cluster_id and dataset and model.lifecycle_state == "CREATING":
            held[cluster_id].add(dataset)
    return held


def resources(inv: Inventory, now: datetime | None = None) -> list[Resource]:
    """Every cluster and endpoint of the inventory, with unit-hours and holders."""
    now = now or datetime.now(UTC)
    held = _holders(inv)
    out: list[Resource] = []
    for c in inv.clusters:
        live = c.lifecycle_state not in GONE_STATES
        hours = _hours(c.time_created, now) if live else None
        kind = FINETUNING_CLUSTER if c.type == genai.FINE_TUNING else HOSTING_CLUSTER
        out.append(Resource(
            id=c.id, kind=kind, name=c.display_name or "", state=c.lifecycle_state or "",
            shape=c.unit_shape, units=c.unit_count, created=c.time_created, hours=hours,
            unit_hours=None if hours is None else (c.unit_count or 0) * hours,
            datasets=sorted(held.get(c.id, ()))))
    for e in inv.endpoints:
        dataset = (e.freeform_tags or {}).get(tags.DATASET)
        out.append(Resource(
            id=e.id, kind=ENDPOINT, name=e.display_name or "", state=e.lifecycle_state or "",
            created=e.time_created, hours=_hours(e.time_created, now),
            datasets=[dataset] if dataset else []))
    return out


def by_dataset(found: list[Resource]) -> dict[str, list[Resource]]:
    """Dataset -> the resources it holds."""
    out: dict[str, list[Resource]] = defaultdict(list)
    for res in found:
        for dataset in res.datasets:
            out[dataset].append(res)
    return out


def unit_hours(found: list[Resource]) -> float:
    return sum(r.unit_hours or 0.0 for r in found)
