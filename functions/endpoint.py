"""Endpoint: a status object changed -> endpoint for the model (``shared.stages.endpoint``)."""

from __future__ import annotations

from typing import Any

from shared.runtime import invoke, object_event_work
from shared.settings import Stage
from shared.stages.endpoint import endpoint_for_status

_WORK = object_event_work(endpoint_for_status)


def handle(ctx: Any, data: Any = None) -> Any:
    return invoke(ctx, data, Stage.ENDPOINT, _WORK)
