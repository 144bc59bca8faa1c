"""The watch function's work: tick, or reconcile when asked or due.

The Resource Scheduler (OCI) and the local target's ticker invoke the watch function
with any body; ``{"kind": "reconcile"}`` asks for a reconcile, and a warm process also
reconciles on its first call and every :data:`RECONCILE_EVERY_SECONDS` after, so work
whose event was lost (or whose status was lost) completes without an operator.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from shared import caches
from shared.invocation import Invocation
from shared.outcome import Outcome, OutcomeStatus
from shared.settings import Stage
from shared.stages.watch.reconciler import reconcile
from shared.stages.watch.ticker import tick

RECONCILE_EVERY_SECONDS = 900.0


@dataclass
class Schedule:
    """When this process last reconciled (``None``: not yet)."""

    last_reconcile: float | None = None

    def due(self, now: float) -> bool:
        last = self.last_reconcile
        return last is None or now - last >= RECONCILE_EVERY_SECONDS


SCHEDULE = Schedule()


def reconcile_due(now: float) -> bool:
    """True on this process's first call and every :data:`RECONCILE_EVERY_SECONDS` after."""
    return SCHEDULE.due(now)


def wants_reconcile(body: bytes) -> bool:
    """True when the body asks for a reconcile; anything else (or garbage) is a tick."""
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        return False
    return isinstance(doc, dict) and "reconcile" in (doc.get("kind"), doc.get("action"))


def handle(inv: Invocation) -> Outcome:
    """Tick, or reconcile when asked or due. Any body means "tick" (schedule, alarm, empty)."""
    now = time.monotonic()
    if wants_reconcile(inv.body) or SCHEDULE.due(now):
        SCHEDULE.last_reconcile = now
        details = reconcile(inv.settings).model_dump()
    else:
        details = tick(inv.settings, deadline=inv.deadline).model_dump()
    return Outcome.of(Stage.WATCH.value, OutcomeStatus.DONE, "", None, **details)


def _forget() -> None:
    SCHEDULE.last_reconcile = None


caches.register("watch", _forget)
