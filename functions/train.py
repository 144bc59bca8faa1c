"""Train stage: a training JSONL landed -> fine-tuned custom model (see shared.train_stage)."""

from __future__ import annotations

from typing import Any

from shared.fnruntime import run_event_stage
from shared.settings import Stage
from shared.train_stage import train_object


def handle(ctx: Any, data: Any = None) -> Any:
    return run_event_stage(ctx, data, Stage.TRAIN, train_object)
