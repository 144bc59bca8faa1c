"""What the cloud says now about the endpoint and model a dataset's record names.

``ocift status`` (table and ``--json``) and the web page read the recorded status, then
correct it with the pipeline's live inventory (one listing of each kind, the same one that
finds billable resources): an endpoint the listing lacks, or shows DELETING/DELETED, is
gone, whatever the record still says. The dataset then reads MODEL_ACTIVE with no endpoint
(when its model is still ACTIVE), and the row says how to serve it again. The watcher
records the same on its next reconcile (``shared/stages/watch/gone.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared.lifecycle import REMOVED

#: Recorded states whose endpoint must exist (ENDPOINT_CREATING's is the tick's to follow).
ENDPOINT_STATES = ("ENDPOINT_ACTIVE", "ENDPOINT_FAILED")


def serve_hint(dataset: str) -> str:
    """How to host a dataset's kept model again (the command as this process was run)."""
    from shared.cli.typed import command

    return (f"the model is kept (a custom model costs nothing while no cluster hosts it); "
            f"`{command()} serve {dataset}` hosts it again (a new hosting cluster, billed per "
            "unit-hour)")


def reflect(rows: Iterable[Any], inventory: Any) -> None:
    """Correct each row's endpoint/model state from ``inventory`` (a ``billing.Inventory``)."""
    endpoints = {e.id: str(e.lifecycle_state or "") for e in inventory.endpoints}
    models = {m.id: str(m.lifecycle_state or "") for m in inventory.models}
    for row in rows:
        if row.state in ENDPOINT_STATES and row.endpoint_id:
            state = endpoints.get(row.endpoint_id, "DELETED")
            if state in REMOVED:
                _gone(row, state, models.get(row.model_id or "", "DELETED"))
        elif row.model_id and models.get(row.model_id, "DELETED") in REMOVED and (
                row.state == "MODEL_ACTIVE"):
            row.model_state = models.get(row.model_id, "DELETED")
            row.live_note = (f"model {row.model_id} is {row.model_state} (read live): upload "
                             "the dataset again to train a new version")
        if getattr(row, "unserved", None) and not row.live_note:
            row.live_note = f"not served: {row.unserved}; {serve_hint(row.dataset)}"


def _gone(row: Any, endpoint_state: str, model_state: str) -> None:
    what = f"endpoint {row.endpoint_id} is {endpoint_state} (read live)"
    row.endpoint_state = endpoint_state
    if model_state == "ACTIVE":
        row.state, row.model_state = "MODEL_ACTIVE", "ACTIVE"
        row.unserved = what
        row.live_note = f"not served: {what}; {serve_hint(row.dataset)}"
    else:
        row.state, row.model_state = "ENDPOINT_FAILED", model_state
        row.live_note = (f"{what} and model {row.model_id} is {model_state}: upload the "
                         "dataset again to train a new version")
