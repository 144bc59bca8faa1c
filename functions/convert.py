"""Convert stage: raw dataset object event -> fine-tuning JSONL + report."""

from __future__ import annotations

from typing import Any

from shared.convert_stage import convert_object
from shared.fnruntime import run_event_stage
from shared.settings import Stage


def handle(ctx: Any, data: Any = None) -> Any:
    return run_event_stage(ctx, data, Stage.CONVERT, convert_object)
