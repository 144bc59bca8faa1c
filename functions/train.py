"""Train: a training JSONL landed -> fine-tuned custom model (``shared.stages.train``)."""

from __future__ import annotations

from typing import Any

from shared.runtime import invoke, object_event_work
from shared.settings import Stage
from shared.stages.train import train_object

_WORK = object_event_work(train_object)


def handle(ctx: Any, data: Any = None) -> Any:
    return invoke(ctx, data, Stage.TRAIN, _WORK)
