"""The web page's view of billable resources: :mod:`shared.billing` (one implementation)."""

from __future__ import annotations

from shared.billing import (
    ENDPOINT,
    FINETUNING_CLUSTER,
    GONE_STATES,
    HOSTING_CLUSTER,
    Inventory,
    Resource,
    by_dataset,
    ended,
    live,
    read_inventory,
    resources,
    unit_hours,
)

__all__ = ["ENDPOINT", "FINETUNING_CLUSTER", "GONE_STATES", "HOSTING_CLUSTER", "Inventory",
           "Resource", "by_dataset", "ended", "live", "read_inventory", "resources", "unit_hours"]
