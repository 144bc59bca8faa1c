"""Work requests: how OCI reports progress of creates and deletes.

Each create or delete gets one work request. It goes ACCEPTED -> IN_PROGRESS
-> SUCCEEDED / FAILED / CANCELED, with ``percentComplete`` derived from the
operation's deadline, and collects errors and log lines.
"""

from __future__ import annotations

import secrets
import time

from deploy.local.emulator.genai.records import (
    WorkRequest,
    WorkRequestError,
    WorkRequestLog,
    WorkRequestResource,
    WorkRequestState,
)
from deploy.local.emulator.genai.store import ResourceStore
from deploy.local.emulator.genai.timefmt import rfc3339


def new_ocid(kind: str, region: str) -> str:
    """A fresh OCID of ``kind`` in ``region``."""
    return f"ocid1.{kind}.oc1.{region}.amaaaaaa{secrets.token_hex(26)}"


class WorkRequests:
    """Create, advance and end the work requests kept in a :class:`ResourceStore`."""

    def __init__(self, store: ResourceStore, region: str) -> None:
        self.store = store
        self.region = region

    def new(self, operation: str, compartment_id: str, entity_type: str, resource_id: str,
            entity_uri: str, done_at: float | None) -> str:
        """Record an ACCEPTED work request; ``done_at`` drives ``percentComplete``."""
        wr_id = new_ocid("generativeaiworkrequest", self.region)
        now = time.time()
        self.store.workrequests.put(WorkRequest(
            id=wr_id, operation_type=operation, status="ACCEPTED",
            compartment_id=compartment_id,
            resources=[WorkRequestResource(
                entity_type=entity_type, action_type="IN_PROGRESS", identifier=resource_id,
                entity_uri=entity_uri)],
            time_accepted=rfc3339(now),
            emu=WorkRequestState(accepted_at=now, done_at=done_at)))
        return wr_id

    @staticmethod
    def log(wr: WorkRequest, message: str) -> None:
        """Append a log line (the caller puts ``wr``)."""
        wr.emu.logs.append(WorkRequestLog(message=message, timestamp=rfc3339()))

    def finish(self, wr_id: str, *, ok: bool, action: str, error: str | None = None,
               code: str = "InternalError") -> None:
        """End a work request as SUCCEEDED or FAILED, marking its resources ``action``."""
        wr = self.store.workrequests.get(wr_id)
        if wr is None:
            return
        now = rfc3339()
        wr.status = "SUCCEEDED" if ok else "FAILED"
        if ok:
            wr.percent_complete = 100.0
        wr.time_started = wr.time_started or now
        wr.time_finished = now
        for resource in wr.resources:
            resource.action_type = action
        if error:
            wr.emu.errors.append(WorkRequestError(code=code, message=error, timestamp=now))
        self.store.workrequests.put(wr)

    def cancel(self, wr_id: str, reason: str) -> None:
        """End an open work request as CANCELED."""
        wr = self.store.workrequests.get(wr_id)
        if wr is None or not wr.open:
            return
        wr.status = "CANCELED"
        wr.time_finished = rfc3339()
        self.log(wr, reason)
        self.store.workrequests.put(wr)

    def progress(self, wr_id: str, now: float) -> None:
        """Move an open work request towards its deadline (never past 99%)."""
        wr = self.store.workrequests.get(wr_id)
        if wr is None or not wr.open:
            return
        state = wr.emu
        span = max(1e-9, (state.done_at or now) - state.accepted_at)
        pct = round(min(99.0, 100.0 * (now - state.accepted_at) / span), 1)
        if wr.status == "ACCEPTED":
            wr.status, wr.time_started = "IN_PROGRESS", rfc3339(now)
        wr.percent_complete = pct
        self.store.workrequests.put(wr)
