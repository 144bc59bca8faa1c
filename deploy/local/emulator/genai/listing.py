"""Filtering and ordering of ``List*`` results as OCI does them."""

from __future__ import annotations

from typing import Any

from deploy.local.emulator.genai.errors import invalid_parameter
from deploy.local.emulator.genai.records import Record


def matches(item: Record, filters: dict[str, Any]) -> bool:
    """The ``lifecycleState`` / ``displayName`` / ``id`` filters every list call takes."""
    return ((not filters.get("lifecycle_state")
             or item["lifecycleState"] == filters["lifecycle_state"])
            and (not filters.get("display_name")
                 or item["displayName"] == filters["display_name"])
            and (not filters.get("id") or item["id"] == filters["id"]))


def sort_items(items: list[Record], sort_by: str | None, sort_order: str | None) -> list[Record]:
    """OCI list ordering: timeCreated defaults to DESC, other keys to ASC."""
    key = sort_by or "timeCreated"
    if key not in ("timeCreated", "displayName", "lifecycleState"):
        raise invalid_parameter(f"Unsupported sortBy {key}.")
    order = sort_order or ("DESC" if key == "timeCreated" else "ASC")
    if order not in ("ASC", "DESC"):
        raise invalid_parameter(f"Unsupported sortOrder {order}.")
    return sorted(items, key=lambda item: (str(item.get(key) or ""), item["id"]),
                  reverse=order == "DESC")
