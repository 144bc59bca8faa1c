"""Watch stage: a scheduled tick moves in-flight datasets on (see shared.watcher).

Accepted bodies: the local ticker's ``{"source": "ocift.schedule", ...}``, an OCI
Notifications / Monitoring alarm message, or nothing -- all mean "tick".
``{"kind": "reconcile"}`` runs :func:`shared.watcher.reconcile` instead, and a
warm function also reconciles on its first call and then every
:data:`RECONCILE_EVERY_SECONDS`, so work whose event was lost completes on its own.
"""

from __future__ import annotations

import json
import time
from typing import Any

from shared import logs, watcher
from shared.fnruntime import read_body, respond
from shared.outcome import Outcome, OutcomeStatus
from shared.settings import Stage, get_settings

log = logs.get_logger("ocift.fn")

RECONCILE_EVERY_SECONDS = 900.0
_last_reconcile: float | None = None


def reconcile_due(now: float) -> bool:
    """True on this process's first call and every :data:`RECONCILE_EVERY_SECONDS` after."""
    return _last_reconcile is None or now - _last_reconcile >= RECONCILE_EVERY_SECONDS


def wants_reconcile(body: bytes) -> bool:
    """True when the body asks for a reconcile; anything else (or garbage) is a tick."""
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        return False
    return isinstance(doc, dict) and "reconcile" in (doc.get("kind"), doc.get("action"))


def handle(ctx: Any, data: Any = None) -> Any:
    settings = get_settings()
    logs.configure(settings.log_level)
    logs.clear()
    logs.bind(stage=Stage.WATCH.value)
    started = time.perf_counter()
    global _last_reconcile
    now = time.monotonic()
    if wants_reconcile(read_body(data)) or reconcile_due(now):
        _last_reconcile = now
        details = watcher.reconcile(settings).model_dump()
    else:
        details = watcher.tick(settings).model_dump()
    outcome = Outcome(status=OutcomeStatus.DONE, stage=Stage.WATCH.value, details=details)
    log.info("stage finished", extra={"outcome": "done", "elapsed_ms":
                                      round((time.perf_counter() - started) * 1000, 1)})
    return respond(ctx, outcome.to_json())
