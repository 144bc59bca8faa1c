"""Endpoint stage: a status object changed -> endpoint for the model (see shared.endpoint_stage)."""

from __future__ import annotations

from typing import Any

from shared.endpoint_stage import endpoint_for_status
from shared.fnruntime import run_event_stage
from shared.settings import Stage


def handle(ctx: Any, data: Any = None) -> Any:
    return run_event_stage(ctx, data, Stage.ENDPOINT, endpoint_for_status)
