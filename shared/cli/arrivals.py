"""A dataset before its status object exists: what its raw object is going through.

``ocift status`` and the web page show every raw object the moment it lands, with a state
that says where it is before the pipeline has written a status (issue 27):

* ``UPLOADED``: in the bucket, its event not (yet) seen by convert;
* ``CONVERTING``: the local router holds a delivery to convert for it (attempts so far);
* ``CONVERTED``: its report says valid, and train has not written a status yet;
* ``INVALID``: its report says it can never convert (the reason is in the report);
* ``DEAD_LETTERED``: the router gave up delivering it (the delivery and its error are listed
  under the dataset; ``ocift redrive`` retries it).

Pending deliveries exist on the local target only (OCI Events keeps no queue one can read).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shared.settings import Settings

UPLOADED = "UPLOADED"
CONVERTING = "CONVERTING"
CONVERTED = "CONVERTED"
INVALID = "INVALID"
DEAD_LETTERED = "DEAD_LETTERED"
#: Arrival states that wait for nobody (``status --watch`` stops on them).
SETTLED = frozenset({INVALID, DEAD_LETTERED})


class PendingDelivery(BaseModel):
    """A delivery the local router still holds for an object."""

    function: str
    object: str
    attempts: int = 0
    last_error: str | None = None


def pending_deliveries(state_dir: Path, settings: Settings) -> list[PendingDelivery]:
    """Deliveries queued or in flight on the local target in ``state_dir``."""
    from deploy.local.router import Router

    if not (state_dir / "router").is_dir():
        return []
    router = Router(state_dir.resolve(), [], lambda function, body: None)
    return [PendingDelivery(function=d.function, object=d.resource_name, attempts=d.attempts,
                            last_error=d.last_error)
            for d in router.status(recent=0).pending if d.resource_name]


def arrival_state(row: Any, pending: list[PendingDelivery]) -> str | None:
    """The state of a row that has no status object yet (None for one that has)."""
    if row.state is not None:
        return None
    if row.valid is False:
        return INVALID
    if row.valid:
        return CONVERTED
    raw = getattr(row, "raw_object", None)
    if any(p.function == "convert" and p.object == raw for p in pending):
        return CONVERTING
    if any(d.function == "convert" for d in row.dead_letters):
        return DEAD_LETTERED
    return UPLOADED if raw else None


def converting_note(row: Any, pending: list[PendingDelivery]) -> str:
    """A retried delivery's attempts and last error, for the notes under the table."""
    for p in pending:
        if p.object == getattr(row, "raw_object", None) and p.attempts and p.last_error:
            error = " ".join(p.last_error.split())[:200]
            return f"{p.function} of {p.object}: attempt {p.attempts} failed ({error}); retrying"
    return ""
